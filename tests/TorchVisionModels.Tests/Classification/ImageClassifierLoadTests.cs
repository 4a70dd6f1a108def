using TorchVisionModels.Classification;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Classification;

/// <summary>
/// <see cref="ImageClassifier.Load"/>: a classifier from a weights file in one call, on the fastest measured backend
/// by default, with PyTorch's top-5; and <see cref="BackendChoice.For(ClassifierOptions, string?)"/>'s rules.
/// </summary>
public class ImageClassifierLoadTests
{
    static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");

    [Fact]
    public void LoadsOnOnnxRuntimeByDefaultAndGivesPyTorchsTop5()
    {
        using var classifier = ImageClassifier.Load("resnet18", Weights, new ClassifierOptions { Progress = false });
        Assert.Equal(new BackendChoice(InferenceBackend.OnnxRuntime, "auto: the fastest measured for float32 on the CPU"), classifier.Backend);
        Assert.Equal("forward_resnet18.weights.pt", classifier.Source!.Description);
        AssertPyTorchsTop5(classifier);
    }

    [Fact]
    public void TorchBackendGivesPyTorchsTop5()
    {
        using var classifier = ImageClassifier.Load("resnet18", Weights, new ClassifierOptions { Backend = InferenceBackend.Torch, Fast = false, Progress = false });
        Assert.Equal(new BackendChoice(InferenceBackend.Torch, "as asked"), classifier.Backend);
        Assert.IsType<ResNet>(classifier.Model);
        AssertPyTorchsTop5(classifier);
    }

    [Theory]
    [InlineData(InferenceBackend.Auto, "cpu", ScalarType.Float32, true, InferenceBackend.OnnxRuntime, "auto: the fastest measured for float32 on the CPU")]
    [InlineData(InferenceBackend.Auto, "cpu", ScalarType.BFloat16, true, InferenceBackend.Torch, "auto: BFloat16 runs on TorchSharp's fast path")]
    [InlineData(InferenceBackend.Auto, "cpu", ScalarType.Float32, false, InferenceBackend.Torch, "auto: the plain TorchSharp model was asked for")]
    [InlineData(InferenceBackend.Auto, "cuda", ScalarType.Float32, true, InferenceBackend.Torch, "auto: ONNX Runtime runs on the CPU here, not cuda")]
    [InlineData(InferenceBackend.Torch, "cpu", ScalarType.Float32, true, InferenceBackend.Torch, "as asked")]
    [InlineData(InferenceBackend.Auto, "cpu", ScalarType.Int8, true, InferenceBackend.OnnxRuntime, "auto: int8 runs on ONNX Runtime")]
    [InlineData(InferenceBackend.OnnxRuntime, "cpu", ScalarType.Int8, false, InferenceBackend.OnnxRuntime, "as asked")]
    public void AutoChoosesByDeviceTypeAndPath(InferenceBackend asked, string device, ScalarType dtype, bool fast, InferenceBackend backend, string reason)
        => Assert.Equal(new BackendChoice(backend, reason), BackendChoice.For(asked, new Device(device), dtype, fast));

    [Theory]
    [InlineData(InferenceBackend.OnnxRuntime, "cuda", ScalarType.Float32, true, "Device cuda: the ONNX Runtime backend runs on the CPU; set Device to cpu.")]
    [InlineData(InferenceBackend.OnnxRuntime, "cpu", ScalarType.Float16, true, "Dtype Float16: the ONNX Runtime backend runs float32 and int8; set Backend to Torch.")]
    [InlineData(InferenceBackend.Torch, "cpu", ScalarType.Int8, true, "Dtype Int8: int8 runs on ONNX Runtime; set Backend to OnnxRuntime.")]
    [InlineData(InferenceBackend.Auto, "cuda", ScalarType.Int8, true, "Dtype Int8: int8 runs on the CPU, not cuda; set Device to cpu.")]
    [InlineData(InferenceBackend.Auto, "cpu", ScalarType.BFloat16, false, "Dtype BFloat16: 16-bit types run on the fast path; set Fast to True.")]
    [InlineData(InferenceBackend.Torch, "cpu", ScalarType.Float16, false, "Dtype Float16: 16-bit types run on the fast path; set Fast to True.")]
    public void OptionsThatCannotRunTogetherAreRefused(InferenceBackend asked, string device, ScalarType dtype, bool fast, string message)
        => Assert.Equal(message, Assert.Throws<OptionException>(() => BackendChoice.For(asked, new Device(device), dtype, fast)).Message);

    [Fact]
    public void AutoDeviceIsTheCpuForOnnxRuntime()
    {
        var (choice, device) = BackendChoice.For(new ClassifierOptions { Backend = InferenceBackend.OnnxRuntime });
        Assert.Equal((InferenceBackend.OnnxRuntime, "as asked", TorchSharp.DeviceType.CPU), (choice.Backend, choice.Reason, device.type));
    }

    [Fact]
    public void Int8NeedsCalibrationImagesOrAnOnnxFile()
    {
        var e = Assert.Throws<OptionException>(() => BackendChoice.For(new ClassifierOptions { Dtype = ScalarType.Int8 }));
        Assert.Equal(("Dtype", (object)ScalarType.Int8, ("Calibration", (object)"DIR")), (e.Option, e.Value, e.Fix));
        var (choice, device) = BackendChoice.For(new ClassifierOptions { Dtype = ScalarType.Int8, Calibration = new CalibrationSet("images") });
        Assert.Equal((InferenceBackend.OnnxRuntime, TorchSharp.DeviceType.CPU), (choice.Backend, device.type));
        Assert.Equal(new BackendChoice(InferenceBackend.OnnxRuntime, "an .onnx file"), BackendChoice.For(new ClassifierOptions { Dtype = ScalarType.Int8 }, "model.onnx").Choice);
    }

    [Fact]
    public void AnOnnxFileRunsOnOnnxRuntimeAndIsRefusedToTorch()
    {
        var (choice, _) = BackendChoice.For(new ClassifierOptions(), "model.onnx");
        Assert.Equal(new BackendChoice(InferenceBackend.OnnxRuntime, "an .onnx file"), choice);
        var e = Assert.Throws<OptionException>(() => BackendChoice.For(new ClassifierOptions { Backend = InferenceBackend.Torch }, "model.onnx"));
        Assert.Equal(("Weights", "model.onnx", ("Backend", (object)InferenceBackend.OnnxRuntime)), (e.Option, e.Value, e.Fix));
    }

    static void AssertPyTorchsTop5(ImageClassifier classifier)
    {
        var expected = Fixtures.Json("classification.json");
        var files = expected.EnumerateObject().Select(p => Path.Combine(Fixtures.Samples, p.Name)).ToList();
        var results = classifier.Classify(files, topk: 5, batchSize: 2).ToList();
        foreach (var (file, result) in files.Zip(results))
        {
            var theirs = expected.GetProperty(Path.GetFileName(file)).EnumerateArray().ToList();
            Assert.Equal(theirs.Select(t => t.GetProperty("index").GetInt64()), result.Top!.Select(p => p.Index));
            // Measured at most 2.2e-7 on AMD EPYC (ClassifyCommandTests has the same bound).
            foreach (var (t, p) in theirs.Zip(result.Top!))
                Assert.InRange(p.Probability - t.GetProperty("probability").GetDouble(), -2e-5, 2e-5);
        }
    }
}
