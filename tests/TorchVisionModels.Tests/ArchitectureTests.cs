namespace TorchVisionModels.Tests;

/// <summary>Every builder makes torchvision's network: the same parameters, state_dict keys, order and shapes.</summary>
public class ArchitectureTests
{
    public static TheoryData<string> Architectures => new(torchvision.models.list_models());

    [Theory]
    [MemberData(nameof(Architectures))]
    public void StateDictKeysOrderAndShapesEqualTorchvision(string architecture)
    {
        var expected = Fixtures.Json("architectures.json").GetProperty(architecture);
        using var model = torchvision.models.get_model_builder(architecture)();

        Assert.Equal(expected.GetProperty("num_params").GetInt64(), model.parameters().Sum(p => p.numel()));
        var keys = expected.GetProperty("state_dict").EnumerateArray()
            .Select(e => $"{e[0].GetString()} [{string.Join(", ", e[1].EnumerateArray().Select(d => d.GetInt64()))}]");
        var actual = model.state_dict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]");
        Assert.Equal(keys, actual);
    }

    [Fact]
    public void ParameterCountsAreTorchvisionsPublishedOnes()
    {
        using var resnet50 = torchvision.models.resnet50();
        using var wide = torchvision.models.wide_resnet101_2();
        Assert.Equal(25_557_032, resnet50.parameters().Sum(p => p.numel()));
        Assert.Equal(126_886_696, wide.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void ModuleTreeIsTorchvisions()
    {
        using var model = torchvision.models.resnet50();
        Assert.Equal(["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"],
            model.named_children().Select(c => c.name));
        Assert.Equal(["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu", "downsample"],
            model.layer1.named_children().First().module.named_children().Select(c => c.name));
        Assert.Equal(["conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu"],
            model.layer1.named_children().Last().module.named_children().Select(c => c.name));
    }

    [Fact]
    public void NamedModulesArePreOrderLikePyTorch()
    {
        using var model = torchvision.models.resnet18();
        var names = model.named_modules().Select(m => m.name).Take(12);
        Assert.Equal(["conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.bn1",
            "layer1.0.relu", "layer1.0.conv2", "layer1.0.bn2", "layer1.1"], names);
    }
}
