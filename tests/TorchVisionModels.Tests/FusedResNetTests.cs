using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>The fast inference path gives the plain model's logits and top-5, and leaves the model as it was.</summary>
public class FusedResNetTests
{
    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in Fixtures.Strings(Fixtures.Cases.GetProperty("fused")))
        {
            data.Add(name, true);
            data.Add(name, false);
        }
        return data;
    }

    // Relative to the largest logit; folding changes the float arithmetic. Measured on these cases: at most 1.3e-6.
    const double Tolerance = 1e-5;

    // In a child process: channels-last 1x1 convolutions are where oneDNN crashes on AMD (PointwiseConvolution).
    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsAndTop5EqualThePlainModels(string name, bool channelsLast)
        => ChildProcess.Run(LogitsAndTop5EqualThePlainModelsInThisProcess, name, channelsLast.ToString());

    static void LogitsAndTop5EqualThePlainModelsInThisProcess(string[] arguments)
    {
        var (name, channelsLast) = (arguments[0], bool.Parse(arguments[1]));
        using var model = ModelCases.Forward(name);
        model.eval();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var fused = new FusedResNet(model, channelsLast);
        using var x = rand([2, 3, 96, 128], generator: new Generator(seed: 5));

        using var _ = no_grad();
        using var expected = model.call(x);
        using var actual = fused.call(x);

        var error = Fixtures.RelativeError(actual, expected);
        Assert.True(error <= Tolerance, $"relative error {error:E2}");
        using (var scope = NewDisposeScope())
            Assert.Equal(expected.topk(5).indexes.data<long>().ToArray(), actual.topk(5).indexes.data<long>().ToArray());
        Assert.All(model.state_dict(), kv => Assert.True(Fixtures.BitIdentical(kv.Value, before[kv.Key]), kv.Key));
        Fixtures.DisposeAll(before.Values);
    }

    /// <summary>cases.py's half-precision cases: the case, the dtype, the bound (relative to the largest logit) and why.</summary>
    public static TheoryData<string, ScalarType, double> HalfPrecisionCases()
    {
        var data = new TheoryData<string, ScalarType, double>();
        foreach (var c in Fixtures.Cases.GetProperty("half_precision").EnumerateArray())
            data.Add(c[0].GetString()!, Enum.Parse<ScalarType>(c[1].GetString()!), c[2].GetDouble());
        return data;
    }

    [Theory]
    [MemberData(nameof(HalfPrecisionCases))]
    public void HalfPrecisionStaysCloseToFloat32(string name, ScalarType dtype, double tolerance)
        => ChildProcess.Run(HalfPrecisionInThisProcess, name, dtype.ToString(), tolerance.ToString("R", System.Globalization.CultureInfo.InvariantCulture));

    static void HalfPrecisionInThisProcess(string[] arguments)
    {
        var (name, dtype, tolerance) = (arguments[0], Enum.Parse<ScalarType>(arguments[1]), double.Parse(arguments[2], System.Globalization.CultureInfo.InvariantCulture));
        using var model = ModelCases.Forward(name);
        model.eval();
        using var fused = new FusedResNet(model, dtype: dtype);
        using var x = rand([2, 3, 96, 128], generator: new Generator(seed: 5));

        using var _ = no_grad();
        using var expected = model.call(x);
        using var actual = fused.call(x);

        Assert.Equal(ScalarType.Float32, actual.dtype);
        var error = Fixtures.RelativeError(actual, expected);
        Assert.True(error <= tolerance, $"relative error {error:E2}");
        using (var scope = NewDisposeScope())
            Assert.Equal(expected.argmax(1).data<long>().ToArray(), actual.argmax(1).data<long>().ToArray());
    }

    [Fact]
    public void OnlyFloatingPointDtypesOf16Or32Bits()
    {
        using var model = torchvision.models.resnet18();
        var e = Assert.Throws<ArgumentException>(() => new FusedResNet(model, dtype: ScalarType.Float64));
        Assert.StartsWith("FusedResNet computes in float32, bfloat16 or float16, not Float64.", e.Message);
    }

    [Fact]
    public void ForwardLeavesNoLiveTensors()
    {
        using var model = torchvision.models.resnet50();
        model.eval();
        using var fused = new FusedResNet(model);
        using var x = randn(2, 3, 64, 64);
        Fixtures.AssertNoLiveTensorsAfter(() => fused.call(x).Dispose());
    }

    [Fact]
    public void ACustomNormLayerIsNamed()
    {
        using var model = torchvision.models.resnet18(norm_layer: c => nn.InstanceNorm2d(c));
        var e = Assert.Throws<NotSupportedException>(() => new FusedResNet(model));
        Assert.Equal("bn1 is a InstanceNorm2d, of no known norm kind: bn (BatchNorm2d with running statistics), frozen-bn (FrozenBatchNorm2d), gn (GroupNorm of 32 groups). NormKinds.Add makes a new kind known.", e.Message);
    }
}
