using System.Text.Json;
using Onnx;
using TorchVisionModels.Onnx;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Onnx;

/// <summary>
/// The int8 export against quantization.py's oracle (numpy, from ONNX's definitions): the parameters of every
/// activation from its calibrated range, the calibration's ranges over the same images, the weights and biases
/// quantized, and ONNX Runtime running the file as the fake-quantized network computes.
/// </summary>
public class Int8ExportTests
{
    static readonly JsonElement Oracle = Fixtures.Json("quantization.json");

    public static TheoryData<string> Cases() => new(Fixtures.Strings(Fixtures.Cases.GetProperty("int8")));

    static Tensor Images() => Fixtures.Arrays("quantization_images.npz")["images"];

    static CalibrationMethod Percentile => new(Oracle.GetProperty("percentile").GetDouble());

    [Theory]
    [MemberData(nameof(Cases))]
    public void EachRangeGivesOnnxsScaleAndZeroPoint(string name)
    {
        foreach (var method in new[] { "minmax", "percentile" })
        {
            foreach (var activation in Oracle.GetProperty("cases").GetProperty(name).GetProperty(method).EnumerateObject())
            {
                var v = activation.Value.EnumerateArray().Select(e => e.GetDouble()).ToArray();
                var expected = new ActivationQuantization((float)v[2], (byte)v[3]);
                Assert.Equal((activation.Name, expected), (activation.Name, ActivationQuantization.Of(new((float)v[0], (float)v[1]))));
            }
        }
    }

    [Fact]
    public void EdgeCasesOfTheRule()
    {
        Assert.Equal(new ActivationQuantization(1f, 0), ActivationQuantization.Of(new(0f, 0f)));
        // Wholly negative or positive ranges are widened to hold 0: 0 stays exact.
        Assert.Equal(new ActivationQuantization(3f / 255f, 255), ActivationQuantization.Of(new(-3f, -1f)));
        Assert.Equal(new ActivationQuantization(2f / 255f, 0), ActivationQuantization.Of(new(1f, 2f)));
        // A channel of zeros takes scale 1; halves round to even.
        using var w = tensor(new float[] { 0, 0, 0, 254f, -127f, 1f }, [2, 3]);
        var weight = WeightQuantization.Of(w);
        Assert.Equal([1f, 2f], weight.Scales);
        Assert.Equal([0, 0, 0, 127, -64, 0], weight.Values.Select(v => (int)v));
    }

    // The oracle calibrates its own float32 forward (PyTorch's NCHW convolutions), this one FusedResNet's
    // channels-last kernels: each activation's extremes differ by float rounding (measured: at most 1.1e-6 of the range).
    const double RangeTolerance = 1e-5;

    [Theory]
    [MemberData(nameof(Cases))]
    public void CalibrationGivesTheOraclesRanges(string name)
    {
        using var model = ModelCases.Forward(name);
        using var images = Images();
        var bins = Oracle.GetProperty("bins").GetInt32();
        Assert.Equal(Calibration.Bins, bins);
        foreach (var (method, label) in new[] { (CalibrationMethod.MinMax, "minmax"), (Percentile, "percentile") })
        {
            var ranges = Calibration.Ranges(model, [images], method);
            foreach (var activation in Oracle.GetProperty("cases").GetProperty(name).GetProperty(label).EnumerateObject())
            {
                var v = activation.Value.EnumerateArray().Select(e => e.GetDouble()).ToArray();
                var actual = ranges[activation.Name];
                var width = v[1] - v[0];
                // A percentile's cut is a bin edge: values that round across one move it by a bin.
                var allowed = RangeTolerance * width + (label == "percentile" ? width / bins : 0);
                Assert.True(Math.Abs(actual.Min - v[0]) <= allowed && Math.Abs(actual.Max - v[1]) <= allowed,
                    $"{label} {activation.Name}: [{actual.Min}, {actual.Max}], the oracle's [{v[0]}, {v[1]}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void WeightsAndBiasesAreTheOraclesQuantization(string name)
    {
        using var model = ModelCases.Forward(name);
        using var images = Images();
        var onnx = Int8Exporter.ToModel(model, Calibration.Ranges(model, [images], CalibrationMethod.MinMax));
        var initializers = onnx.Graph.Initializer.ToDictionary(i => i.Name);
        var expected = Fixtures.Arrays($"quantization_{name}.npz");
        foreach (var conv in Oracle.GetProperty("cases").GetProperty(name).GetProperty("weights").EnumerateObject())
        {
            var weight = initializers[$"{conv.Name}.weight_quantized"];
            Assert.Equal((conv.Name, (int)TensorProto.Types.DataType.Int8), (conv.Name, weight.DataType));
            Assert.Equal((conv.Name, conv.Value.GetProperty("sha256").GetString()), (conv.Name, Fixtures.Sha256(weight.RawData.Span)));
            Assert.Equal(expected[$"{conv.Name}.weight_scale"].data<float>().ToArray(), Floats(initializers[$"{conv.Name}.weight_scale"]));
            // The bias's scale is the input's times the weight's, so it inherits the input range's float rounding:
            // a bias can land one step over. Measured: at most 1.
            var bias = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(initializers[$"{conv.Name}.bias_quantized"].RawData.Span).ToArray();
            var expectedBias = expected[$"{conv.Name}.bias_quantized"].data<int>().ToArray();
            Assert.Equal(expectedBias.Length, bias.Length);
            Assert.All(bias.Zip(expectedBias), b => Assert.True(Math.Abs((long)b.First - b.Second) <= 1, $"{conv.Name} bias {b.First}, the oracle's {b.Second}"));
        }
        Fixtures.DisposeAll(expected.Values);
    }

    /// <summary>
    /// The uint8 tensors whose levels the oracle keeps, by activation, with the most steps a level may be off: the
    /// stem's ReLU (its input is the image, quantized alike) and the first block's.
    /// </summary>
    static readonly (string Activation, string Tensor, int MaxSteps)[] Levels = [("relu", "conv1.quantized", 1), ("layer1.0.relu", "layer1.0.add.quantized", 2)];

    // ONNX Runtime's integer kernels requantize each sum with a float32 multiplier where the oracle divides in
    // float64, so a level whose value sits on a rounding edge can land one step over; the next layer's sums carry
    // that step on, times its weights. Measured: the stem's levels at most 1 step off (2 of 524,288), the first
    // block's at most 2 (3 of 524,288), every other level equal.
    const double LevelsOff = 1e-4;

    // Relative to the largest logit. Those few steps spread through the network's depth: ONNX Runtime's own QDQ
    // graph run unfused (QuantizeLinear, float Conv, DequantizeLinear) lands 1.7e-2 (resnet18) and 2.1e-2
    // (resnet50) from its fused integer run, about as far as either is from the simulation (measured: at most
    // 2.6e-2) or from float32 (2.3e-2). So the logits are held to this bound and the arithmetic to the levels above.
    const double SimulationTolerance = 5e-2;

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxRuntimeComputesTheFakeQuantizedNetwork(string name)
    {
        using var model = ModelCases.Forward(name);
        using var images = Images();
        var onnx = Int8Exporter.ToModel(model, Calibration.Ranges(model, [images], CalibrationMethod.MinMax));
        foreach (var (_, tensorName, _) in Levels)
            onnx.Graph.Output.Add(new ValueInfoProto { Name = tensorName, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Uint8 } } });
        var path = Path.Combine(Path.GetTempPath(), $"int8-{name}-{Guid.NewGuid():N}.onnx");
        try
        {
            File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(onnx));
            using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(path);
            var input = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(images.data<float>().ToArray(), [.. images.shape.Select(d => (int)d)]);
            using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, input)]);
            var outputs = results.ToDictionary(r => r.Name);
            var expected = Fixtures.Arrays($"quantization_{name}.npz");
            foreach (var (activation, tensorName, maxSteps) in Levels)
            {
                var actual = outputs[tensorName].AsTensor<byte>().ToArray();
                var oracle = expected[$"{activation}.levels"].data<float>().ToArray();
                Assert.Equal(oracle.Length, actual.Length);
                var differences = actual.Zip(oracle, (a, o) => Math.Abs(a - o)).ToArray();
                Assert.True(differences.Max() <= maxSteps, $"{activation}: a level {differences.Max()} steps from the oracle's");
                Assert.True(differences.Count(d => d > 0) <= LevelsOff * differences.Length, $"{activation}: {differences.Count(d => d > 0)} of {differences.Length} levels off");
            }
            var logits = outputs[OnnxExporter.OutputName].AsTensor<float>();
            using var actualLogits = tensor(logits.ToArray(), [.. logits.Dimensions.ToArray().Select(d => (long)d)]);
            var error = Fixtures.RelativeError(actualLogits, expected["simulated_logits"]);
            Assert.True(error <= SimulationTolerance, $"relative error {error:E2}");
            Fixtures.DisposeAll(expected.Values);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxCheckerAcceptsItAndOnnxRuntimeRunsEveryOperationOnIntegers(string name)
    {
        using var model = ModelCases.Forward(name);
        using var images = Images();
        var (path, optimized) = (Path.Combine(Path.GetTempPath(), $"int8-{name}-{Guid.NewGuid():N}.onnx"), Path.Combine(Path.GetTempPath(), $"int8-{name}-{Guid.NewGuid():N}.optimized.onnx"));
        try
        {
            Int8Exporter.Export(model, Calibration.Ranges(model, [images], CalibrationMethod.MinMax), path, inputSize: (64, 64));
            var (exitCode, output) = Fixtures.RunPython("check_onnx.py", path);
            Assert.True(exitCode == 0, output);
            OnnxRuntimeModel.Open(path, 1, saveOptimizedTo: optimized).Dispose();
            var ops = ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
            var convolutions = ResNetStructure.Of(model).Convolutions.Count();
            var blocks = ResNetStructure.Of(model).Blocks.Count();
            Assert.Equal(convolutions, ops.GetValueOrDefault("QLinearConv"));
            Assert.Equal(blocks, ops.GetValueOrDefault("QLinearAdd"));
            Assert.Equal(1, ops.GetValueOrDefault("QLinearGlobalAveragePool"));
            Assert.Equal(1, ops.GetValueOrDefault("QGemm"));
            // One QuantizeLinear, of the input; nothing in float32 between the integer kernels.
            Assert.Equal(1, ops.GetValueOrDefault("QuantizeLinear"));
            Assert.Empty(ops.Keys.Intersect(["Conv", "Add", "Relu", "Gemm", "DequantizeLinear", "GlobalAveragePool", "MaxPool"]));
        }
        finally
        {
            File.Delete(path);
            File.Delete(optimized);
        }
    }

    [Fact]
    public void GroupNormIsRefusedByName()
    {
        using var model = torchvision.models.resnet18(num_classes: 10, norm_layer: c => nn.GroupNorm(32, c));
        var e = Assert.Throws<NotSupportedException>(() => Int8Exporter.ToModel(model, new Dictionary<string, ActivationRange>()));
        Assert.Equal("bn1 normalises each image by its own statistics, so it does not fold into conv1, and int8 quantizes folded convolutions only: "
            + "run this model in float32, or train it with BatchNorm.", e.Message);
    }

    [Fact]
    public void RangesOfAnotherModelAreRefusedByName()
    {
        using var model = torchvision.models.resnet18(num_classes: 10);
        var e = Assert.Throws<ArgumentException>(() => Int8Exporter.ToModel(model, new Dictionary<string, ActivationRange> { ["input"] = new(-2, 2) }));
        Assert.Equal("The calibration ranges have none for relu: calibrate this model (Calibration.Ranges) and export it with its own ranges.", e.Message);
    }

    static float[] Floats(TensorProto proto) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(proto.RawData.Span).ToArray();
}
