using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>create_feature_extractor returns torchvision's intermediate outputs, stops early, and rejects unknown nodes.</summary>
public class FeatureExtractionTests
{
    [Fact]
    public void OutputsAreTorchvisions()
    {
        using var model = ModelCases.Forward("resnet18");
        model.eval();
        var expected = Fixtures.Arrays("features_resnet18.npz");
        var input = Fixtures.Arrays("forward_resnet18.io.npz")["input"];
        using var extractor = torchvision.models.feature_extraction.create_feature_extractor(model, new Dictionary<string, string>
        {
            ["layer1"] = "layer1", ["layer2"] = "layer2", ["layer3"] = "layer3", ["layer4"] = "layer4", ["avgpool"] = "avgpool", ["flatten"] = "embedding",
        });
        using var _ = no_grad();
        var outputs = extractor.call(input);

        Assert.Equal(expected.Keys.Order(), outputs.Keys.Order());
        foreach (var (name, tensor) in expected)
        {
            Assert.Equal(tensor.shape, outputs[name].shape);
            Assert.InRange(Fixtures.RelativeError(outputs[name], tensor), 0, 1e-5);
        }
        Assert.Equal(["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"], extractor.named_children().Select(c => c.name));
        Fixtures.DisposeAll(outputs.Values);
    }

    [Fact]
    public void StopsAfterTheLastNodeAndSharesTheWeights()
    {
        using var model = torchvision.models.resnet50();
        using var extractor = torchvision.models.feature_extraction.create_feature_extractor(model, ["layer2"]);
        Assert.Equal(["conv1", "bn1", "relu", "maxpool", "layer1", "layer2"], extractor.named_children().Select(c => c.name));
        Assert.Same(model.layer2, extractor.named_children().Last().module);
        Assert.Equal(model.state_dict().Keys.Where(k => !k.StartsWith("layer3") && !k.StartsWith("layer4") && !k.StartsWith("fc")), extractor.state_dict().Keys);
        using var x = randn(1, 3, 64, 64);
        using var _ = no_grad();
        Fixtures.AssertNoLiveTensorsAfter(() => Fixtures.DisposeAll(extractor.call(x).Values));
        var features = extractor.call(x);
        Assert.Equal([1, 512, 8, 8], features["layer2"].shape);
        Fixtures.DisposeAll(features.Values);
    }

    [Fact]
    public void UnknownNodesAreNamed()
    {
        using var model = torchvision.models.resnet18();
        var error = Assert.Throws<ArgumentException>(() => torchvision.models.feature_extraction.create_feature_extractor(model, ["layer5"]));
        Assert.Equal("node 'layer5' is not present in model; ResNet's nodes are conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4, avgpool, flatten, fc. (Parameter 'return_nodes')", error.Message);
    }
}
