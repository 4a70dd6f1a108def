using TorchSharp;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>With PyTorch's weights and input, the port's outputs are PyTorch's, in eval and in train mode.</summary>
public class ForwardParityTests
{
    public static TheoryData<string> Cases => ModelCases.Names("forward");

    // Against PyTorch's float64 outputs, which are exact up to 1e-15. PyTorch's own float32 outputs are up to
    // 2.4e-6 (eval) and 2.1e-5 (train) from them, and a float32 implementation that sums in another order (oneDNN's
    // kernels on one CPU, a matrix product for 1x1 convolutions on another) lands about as far: so float32 may be
    // Fixtures.Float32Slack times PyTorch's float32 error away, float64 must agree to float64 rounding.
    const double Float64Tolerance = 1e-12;

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputsEqualPyTorch(string name)
    {
        using var model = ModelCases.Forward(name);
        var io = Fixtures.Arrays($"forward_{name}.io.npz");

        foreach (var mode in new[] { "eval", "train" }.Where(io.ContainsKey))
        {
            model.train(mode == "train");
            using var _ = no_grad();
            using var output = model.call(io["input"]);
            Assert.Equal(io[mode].shape, output.shape);
            Fixtures.AssertFloat32Close($"{mode} output", output, io[mode], io[mode + "64"]);
        }
        Fixtures.DisposeAll(io.Values);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float64OutputsEqualPyTorchsExactly(string name)
    {
        using var model = ModelCases.Forward(name);
        model.to(float64);
        var io = Fixtures.Arrays($"forward_{name}.io.npz");

        foreach (var mode in new[] { "eval", "train" }.Where(io.ContainsKey))
        {
            model.train(mode == "train");
            using var _ = no_grad();
            using var input = io["input"].to(float64);
            using var output = model.call(input);
            var error = Fixtures.RelativeError(output, io[mode + "64"]);
            Assert.True(error <= Float64Tolerance, $"{mode}: relative error {error:E2} exceeds {Float64Tolerance:E0}");
        }
        Fixtures.DisposeAll(io.Values);
    }
}
