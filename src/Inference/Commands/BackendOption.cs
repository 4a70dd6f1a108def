using System.CommandLine;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary>
/// <c>--backend auto|torch|onnxruntime</c>. Auto picks the fastest measured backend that gives PyTorch's answers:
/// ONNX Runtime for float32 on the CPU (on our own export: 2.1-3.0x TorchSharp's fast path on AMD EPYC, 1.1-1.6x on
/// Intel with AMX, at batch 1 and 8; see the README's Performance), TorchSharp on CUDA and for bfloat16 and float16.
/// </summary>
static class BackendOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--backend")
        {
            Description = "auto (ONNX Runtime for float32 on the CPU, the fastest measured; TorchSharp on CUDA and for 16-bit types), " +
                          "torch (TorchSharp) or onnxruntime (the model exported to ONNX once, then cached)",
            DefaultValueFactory = _ => "auto",
        };
        option.AcceptOnlyFromAmong("auto", "torch", "onnxruntime");
        return option;
    }

    /// <summary>The backend to run, and why: as asked, or auto's choice for this device, type and path.</summary>
    public static (string backend, string reason) Resolve(string value, Device device, string dtype, bool fast)
    {
        if (value != "auto")
            return (value, "--backend " + value);
        if (device.type != TorchSharp.DeviceType.CPU)
            return ("torch", "auto: ONNX Runtime runs on the CPU here");
        if (dtype != "float32")
            return ("torch", $"auto: {dtype} runs on TorchSharp's fast path");
        if (!fast)
            return ("torch", "auto: --fast false asks for the plain TorchSharp model");
        return ("onnxruntime", "auto: the fastest measured for float32 on the CPU");
    }
}
