using System.CommandLine;
using TorchVisionModels.Classification;

namespace Inference.Commands;

/// <summary><c>--backend auto|torch|onnxruntime</c>: auto is the library's choice, <see cref="BackendChoice.For"/>.</summary>
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

    public static InferenceBackend Parse(string value) => value switch
    {
        "torch" => InferenceBackend.Torch,
        "onnxruntime" => InferenceBackend.OnnxRuntime,
        _ => InferenceBackend.Auto,
    };

    /// <summary>How the CLI names a backend: as <c>--backend</c> takes it.</summary>
    public static string Name(InferenceBackend backend) => backend == InferenceBackend.OnnxRuntime ? "onnxruntime" : "torch";

    /// <summary><c>--verbose</c>: say on stderr which weights, device and backend ran (<see cref="Ran"/>).</summary>
    public static Option<bool> CreateVerbose() => new("--verbose") { Description = "Say on stderr which weights, device and backend ran, and why" };

    /// <summary>What <c>--verbose</c> prints: the weights, the device, and the backend with why it was chosen.</summary>
    public static string Ran(ImageClassifier classifier, string asked)
        => $"{classifier.Source!.Description} on {classifier.Device}, backend {Describe(classifier.Backend!, asked)}";

    /// <summary>The backend that ran and why, as classify and evaluate print it: e.g. <c>onnxruntime (auto: ...)</c>.</summary>
    public static string Describe(BackendChoice choice, string asked)
        => $"{Name(choice.Backend)} ({(asked == "auto" ? choice.Reason : "--backend " + asked)})";

    /// <summary>The library's options for what the command line asks.</summary>
    public static ClassifierOptions Options(string backend, string device, string dtype, bool fast, bool progress,
        Func<TorchVisionModels.Transforms.ImageClassification, TorchVisionModels.Transforms.ImageClassification> preprocessing)
    {
        DtypeOption.RequireFastPath(dtype, backend == "auto" ? "torch" : backend, fast);
        return new ClassifierOptions
        {
            Backend = Parse(backend),
            Device = DeviceOption.Resolve(device, backend == "auto" ? "torch" : backend),
            Dtype = DtypeOption.Resolve(dtype),
            Fast = fast,
            Progress = progress,
            Preprocessing = preprocessing,
        };
    }
}
