using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>With PyTorch's weights and input, the port's outputs are PyTorch's, in eval and in train mode.</summary>
public class ForwardParityTests
{
    public static TheoryData<string> Cases => new(
        "resnet18", "resnet18_nonsquare", "resnet34", "resnet50", "resnext50_32x4d", "wide_resnet50_2",
        "resnet50_dilation_ftt", "resnet18_groupnorm", "resnet18_frozenbn", "resnet50_num_classes_10",
        "resnet101", "resnet152", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet101_2");

    // Relative to the largest reference logit. Measured between libtorch 2.10 and torch 1.13 on these cases:
    // at most 1.9e-6 in eval mode and 1.7e-6 in train mode (inputs keep layer4 at least 4x4, so batch
    // statistics do not amplify the float noise).
    const double Tolerance = 1e-5;

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputsEqualPyTorch(string name)
    {
        using var model = ModelCases.Case(name);
        Fixtures.LoadInto(model, $"forward_{name}.weights.pt");
        var io = Fixtures.Tensors($"forward_{name}.io.pt");

        using (no_grad())
        {
            model.eval();
            using var eval = model.call(io["input"]);
            Assert.Equal(io["eval"].shape, eval.shape);
            Assert.InRange(Fixtures.RelativeError(eval, io["eval"]), 0, Tolerance);

            if (io.TryGetValue("train", out var expected))
            {
                model.train();
                using var train = model.call(io["input"]);
                Assert.InRange(Fixtures.RelativeError(train, expected), 0, Tolerance);
            }
        }
        Fixtures.DisposeAll(io.Values);
    }
}
