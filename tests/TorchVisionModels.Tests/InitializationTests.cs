using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>With the same seed, the port draws torchvision's initial weights bit for bit.</summary>
public class InitializationTests
{
    public static TheoryData<string> Cases => new(
        "resnet18", "resnet50", "resnext50_32x4d", "resnet18_zero_init_residual", "resnet50_zero_init_residual",
        "resnet50_dilation_ftt", "resnet18_groupnorm", "resnet18_num_classes_10");

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameSeedGivesTorchvisionsInitialStateDict(string name)
    {
        manual_seed(0);
        using var model = ModelCases.Case(name);
        ModelCases.AssertDigests(model, $"init_{name}.json");
    }

    [Fact]
    public void ZeroInitResidualZeroesTheLastNormOfEachBranch()
    {
        using var basic = torchvision.models.resnet18(zero_init_residual: true);
        using var bottleneck = torchvision.models.resnet50(zero_init_residual: true);
        Assert.All(basic.state_dict().Where(kv => kv.Key.EndsWith("bn2.weight")), kv => Assert.Equal(0, kv.Value.abs().sum().item<float>()));
        Assert.All(bottleneck.state_dict().Where(kv => kv.Key.EndsWith("bn3.weight")), kv => Assert.Equal(0, kv.Value.abs().sum().item<float>()));
        Assert.All(bottleneck.state_dict().Where(kv => kv.Key.EndsWith("bn2.weight")), kv => Assert.Equal(kv.Value.numel(), kv.Value.sum().item<float>()));
    }
}
