using System.CommandLine;
using TorchVisionModels;
using TorchVisionModels.Classification;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary>
/// How a model runs, declared once for every command that runs one: <c>--backend</c>, <c>--device</c>, <c>--dtype</c>,
/// <c>--fast</c>, <c>--threads</c>, the int8 calibration and <c>--verbose</c>, read into the library's typed <see cref="ClassifierOptions"/>. What may run
/// together is the library's rule (<see cref="BackendChoice.For(ClassifierOptions, string?)"/>); its refusals are said
/// with these options' names (<see cref="OptionNames.Message"/>).
/// </summary>
sealed class RunOptions
{
    static readonly Dictionary<string, InferenceBackend> Backends = new() { ["auto"] = InferenceBackend.Auto, ["torch"] = InferenceBackend.Torch, ["onnxruntime"] = InferenceBackend.OnnxRuntime };
    static readonly Dictionary<string, ScalarType> Dtypes = new()
    {
        ["float32"] = ScalarType.Float32, ["bfloat16"] = ScalarType.BFloat16, ["float16"] = ScalarType.Float16, ["int8"] = ScalarType.Int8,
    };

    public Option<string> Backend { get; } = Choice("--backend", Backends, "auto",
        "auto (ONNX Runtime for float32 on the CPU, the fastest measured; TorchSharp on CUDA and for 16-bit types), torch (TorchSharp) or onnxruntime (the model exported to ONNX once, then cached)");

    public Option<Device?> Device { get; } = CreateDevice();

    public Option<string> Dtype { get; } = Choice("--dtype", Dtypes, "float32",
        "Compute type: float32; on the fast path bfloat16 (about twice as fast on CPUs with AVX-512 BF16 or AMX) or float16 (for GPUs); "
        + "int8 on ONNX Runtime (1.9-3.3x float32, measured on an AVX-512 VNNI CPU), quantized on --calibration images or an int8 .onnx file");

    public Option<bool> Fast { get; } = new("--fast")
    {
        Description = "Torch backend: fold the norm layers and run channels-last (FusedResNet); false runs the plain model, as training evaluates",
        DefaultValueFactory = _ => true,
    };

    public Option<int> Threads { get; } = new("--threads")
    {
        Description = "Threads the model computes with (0: one per core): ONNX Runtime's, or libtorch's on the torch backend",
        DefaultValueFactory = _ => 0,
    };

    public Option<bool> Verbose { get; } = new("--verbose") { Description = "Say on stderr which weights, device and backend ran, and why" };

    public CalibrationOptions Calibration { get; } = new();

    /// <summary>The options but <see cref="Verbose"/>, which only commands that report add.</summary>
    public IEnumerable<Option> All => [Backend, Device, Dtype, Fast, Threads, .. Calibration.All];

    /// <summary>The library's options for what the command line asks.</summary>
    public ClassifierOptions Read(ParseResult result, bool progress, Func<TorchVisionModels.Transforms.ImageClassification, TorchVisionModels.Transforms.ImageClassification> preprocessing) => new()
    {
        Backend = Backends[result.GetValue(Backend)!],
        Device = result.GetValue(Device),
        Dtype = Dtypes[result.GetValue(Dtype)!],
        Calibration = Calibration.Read(result),
        Fast = result.GetValue(Fast),
        Threads = result.GetValue(Threads),
        Progress = progress,
        Preprocessing = preprocessing,
    };

    /// <summary>What <c>--verbose</c> prints: the weights, the device, and the backend with why it was chosen.</summary>
    public string Ran(ParseResult result, ImageClassifier classifier)
        => $"{classifier.Source!.Description} on {classifier.Device} in {Computed(result, classifier.Source)}, backend {Describe(result, classifier.Backend!)}";

    /// <summary>The type the model computes in: an int8 file's own, with its calibration, else <c>--dtype</c>'s.</summary>
    string Computed(ParseResult result, ModelSource source)
        => source.Quantization is { } q ? $"int8 (calibrated on {q.Images} images by {q.Method})" : result.GetValue(Dtype)!;

    /// <summary>The backend that ran and why, as classify and evaluate print it: e.g. <c>onnxruntime (auto: ...)</c>.</summary>
    public string Describe(ParseResult result, BackendChoice choice)
        => $"{Name(choice.Backend)} ({(result.GetValue(Backend) == "auto" ? choice.Reason : "--backend " + result.GetValue(Backend))})";

    /// <summary>How the command line names a backend: as <c>--backend</c> takes it.</summary>
    public static string Name(InferenceBackend backend) => Backends.Single(b => b.Value == backend).Key;

    /// <summary>How the command line names a compute type: as <c>--dtype</c> takes it.</summary>
    public static string Name(ScalarType dtype) => Dtypes.Single(d => d.Value == dtype).Key;

    /// <summary><c>--device auto|cpu|cuda|cuda:N</c>; auto is null, which the library resolves (<see cref="Devices.Resolve"/>).</summary>
    public static Option<Device?> CreateDevice() => new("--device")
    {
        Description = "auto (default: the GPU when there is one and the backend runs there), cpu, cuda or cuda:N",
        HelpName = "auto|cpu|cuda|cuda:N",
        DefaultValueFactory = _ => null,
        CustomParser = r => r.Tokens.Single().Value switch
        {
            "auto" => null,
            "cpu" => CPU,
            var v when v == "cuda" || v.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(v[5..], out var n) && n >= 0 => new Device(v),
            var v => Refuse<Device?>(r, $"--device must be auto, cpu, cuda or cuda:N, got '{v}'"),
        },
    };

    /// <summary>An option taking one of <paramref name="values"/>' names, which <see cref="Read"/> turns into the library's value.</summary>
    static Option<string> Choice<T>(string name, Dictionary<string, T> values, string defaultValue, string description)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong([.. values.Keys]);
        return option;
    }

    static T Refuse<T>(System.CommandLine.Parsing.ArgumentResult result, string error)
    {
        result.AddError(error);
        return default!;
    }
}
