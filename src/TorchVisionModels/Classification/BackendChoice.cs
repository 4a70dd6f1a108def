using static TorchSharp.torch;

namespace TorchVisionModels.Classification;

/// <summary>The backend that runs a model, and why it was chosen.</summary>
/// <param name="Backend">Torch or OnnxRuntime, never Auto.</param>
/// <param name="Reason">Why, for people: as asked, or what auto measured.</param>
public sealed record BackendChoice(InferenceBackend Backend, string Reason)
{
    /// <summary>
    /// The backend and device that run a model as <paramref name="options"/> ask: <see cref="For(InferenceBackend, Device, ScalarType, bool)"/>'s
    /// rules, on the device asked for or, when none was, the GPU if there is one and the backend runs there, else the CPU.
    /// </summary>
    /// <param name="options">What was asked.</param>
    /// <param name="onnxFile">The weights, when they are an .onnx file, which only ONNX Runtime runs; else null.</param>
    /// <exception cref="OptionException">The options cannot run together, or on this machine.</exception>
    public static (BackendChoice Choice, Device Device) For(ClassifierOptions options, string? onnxFile = null)
    {
        if (onnxFile is not null && options.Backend == InferenceBackend.Torch)
            throw new OptionException("Weights", onnxFile, "an ONNX model runs on ONNX Runtime", (nameof(ClassifierOptions.Backend), InferenceBackend.OnnxRuntime));
        if (options.Dtype == ScalarType.Int8 && onnxFile is null && options.Calibration is null)
            throw new OptionException(nameof(ClassifierOptions.Dtype), options.Dtype, "int8 quantizes the model on calibration images like those it will classify, or runs an int8 .onnx file",
                (nameof(ClassifierOptions.Calibration), "DIR"));
        if (options.Calibration is { } calibration && options.Dtype != ScalarType.Int8)
            throw new OptionException(nameof(ClassifierOptions.Calibration), calibration.Directory, "calibration images quantize the model to int8",
                (nameof(ClassifierOptions.Dtype), ScalarType.Int8));
        var backend = onnxFile is not null ? InferenceBackend.OnnxRuntime : options.Backend;
        var device = options.Device ?? (backend == InferenceBackend.OnnxRuntime || options.Dtype == ScalarType.Int8 ? CPU : Devices.Resolve(null));
        var choice = For(backend, device, options.Dtype, options.Fast);
        Devices.Resolve(device);
        return (onnxFile is not null ? choice with { Reason = "an .onnx file" } : choice, device);
    }

    /// <summary>
    /// <paramref name="asked"/>, or for Auto the fastest measured backend that gives PyTorch's answers: ONNX Runtime
    /// for float32 on the CPU (on our export: 2.1-3.0x TorchSharp's fast path on AMD EPYC, 1.1-1.6x on Intel with AMX,
    /// at batch 1 and 8; benchmarks/RESULTS.md) and for int8 (which only it runs), TorchSharp on CUDA, for bfloat16
    /// and float16, and for the plain model.
    /// </summary>
    /// <exception cref="OptionException">ONNX Runtime was asked for where it cannot run (on a GPU, in a 16-bit type), int8 anywhere but on ONNX Runtime on the CPU, or a 16-bit type without the fast path.</exception>
    public static BackendChoice For(InferenceBackend asked, Device device, ScalarType dtype, bool fast)
    {
        if (asked == InferenceBackend.OnnxRuntime && device.type != TorchSharp.DeviceType.CPU)
            throw new OptionException(nameof(ClassifierOptions.Device), device, "the ONNX Runtime backend runs on the CPU", (nameof(ClassifierOptions.Device), CPU));
        if (dtype == ScalarType.Int8 && asked == InferenceBackend.Torch)
            throw new OptionException(nameof(ClassifierOptions.Dtype), dtype, "int8 runs on ONNX Runtime", (nameof(ClassifierOptions.Backend), InferenceBackend.OnnxRuntime));
        if (dtype == ScalarType.Int8 && device.type != TorchSharp.DeviceType.CPU)
            throw new OptionException(nameof(ClassifierOptions.Dtype), dtype, $"int8 runs on the CPU, not {device}", (nameof(ClassifierOptions.Device), CPU));
        if (asked == InferenceBackend.OnnxRuntime && dtype is not (ScalarType.Float32 or ScalarType.Int8))
            throw new OptionException(nameof(ClassifierOptions.Dtype), dtype, "the ONNX Runtime backend runs float32 and int8", (nameof(ClassifierOptions.Backend), InferenceBackend.Torch));
        if (dtype == ScalarType.Int8)
            return new(InferenceBackend.OnnxRuntime, asked == InferenceBackend.Auto ? "auto: int8 runs on ONNX Runtime" : "as asked");
        if (dtype != ScalarType.Float32 && !fast)
            throw new OptionException(nameof(ClassifierOptions.Dtype), dtype, "16-bit types run on the fast path", (nameof(ClassifierOptions.Fast), true));
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
