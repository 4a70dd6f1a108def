
namespace TorchVisionModels.Tests;

/// <summary>With the same seed, the port draws torchvision's initial weights bit for bit.</summary>
public class InitializationTests
{
    public static TheoryData<string> Cases => ModelCases.Names("init");

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameSeedGivesTorchvisionsInitialStateDict(string name)
    {
        using var model = ModelCases.Initial(name);
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
