using static TorchSharp.torch;

namespace TorchVisionModels.Classification;

/// <summary>The backend that runs a model, and why it was chosen.</summary>
/// <param name="Backend">Torch or OnnxRuntime, never Auto.</param>
/// <param name="Reason">Why, for people: as asked, or what auto measured.</param>
public sealed record BackendChoice(InferenceBackend Backend, string Reason)
{
    /// <summary>
    /// <paramref name="asked"/>, or for Auto the fastest measured backend that gives PyTorch's answers: ONNX Runtime
    /// for float32 on the CPU (on our export: 2.1-3.0x TorchSharp's fast path on AMD EPYC, 1.1-1.6x on Intel with AMX,
    /// at batch 1 and 8; benchmarks/RESULTS.md), TorchSharp on CUDA, for bfloat16 and float16, and for the plain model.
    /// </summary>
    /// <exception cref="ArgumentException">ONNX Runtime was asked for where it cannot run: on a GPU, or in a 16-bit type.</exception>
    public static BackendChoice For(InferenceBackend asked, Device device, ScalarType dtype, bool fast)
    {
        if (asked == InferenceBackend.OnnxRuntime && device.type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException($"The ONNX Runtime backend runs on the CPU, not {device}.");
        if (asked == InferenceBackend.OnnxRuntime && dtype != ScalarType.Float32)
            throw new ArgumentException($"The ONNX Runtime backend runs float32, not {dtype}: use the Torch backend.");
        if (asked != InferenceBackend.Auto)
            return new(asked, "as asked");
        if (device.type != TorchSharp.DeviceType.CPU)
            return new(InferenceBackend.Torch, $"auto: ONNX Runtime runs on the CPU here, not {device}");
        if (dtype != ScalarType.Float32)
            return new(InferenceBackend.Torch, $"auto: {dtype} runs on TorchSharp's fast path");
        if (!fast)
            return new(InferenceBackend.Torch, "auto: the plain TorchSharp model was asked for");
        return new(InferenceBackend.OnnxRuntime, "auto: the fastest measured for float32 on the CPU");
    }
}
