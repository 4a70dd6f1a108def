namespace TorchVisionModels.Tests.Weights;

/// <summary>The weights registry carries torchvision's metadata, and builders take weights as torchvision's do.</summary>
public class WeightsRegistryTests
{
    public static TheoryData<string> Members => new(Fixtures.Json("weights.json").EnumerateObject().Select(p => p.Name));

    [Theory]
    [MemberData(nameof(Members))]
    public void MetadataEqualsTorchvisions(string member)
    {
        var expected = Fixtures.Json("weights.json").GetProperty(member);
        var architecture = torchvision.models.list_models().Single(a => torchvision.models.get_model_weights(a).name == member.Split('.')[0]);
        var weights = torchvision.models.get_model_weights(architecture)[member.Split('.')[1]];

        Assert.Equal(member, weights.ToString());
        Assert.Equal(expected.GetProperty("url").GetString(), weights.url);
        Assert.Equal(expected.GetProperty("num_params").GetInt64(), weights.meta.num_params);
        Assert.Equal((1, 1), weights.meta.min_size);
        Assert.Equal(expected.GetProperty("recipe").GetString(), weights.meta.recipe);
        Assert.Equal(expected.GetProperty("metrics").GetProperty("acc@1").GetDouble(), weights.meta.acc_1);
        Assert.Equal(expected.GetProperty("metrics").GetProperty("acc@5").GetDouble(), weights.meta.acc_5);
        Assert.Equal(expected.GetProperty("categories").EnumerateArray().Select(c => c.GetString()), weights.meta.categories);
        Assert.Equal(expected.GetProperty("crop_size").GetInt32(), weights.transforms.crop_size);
        Assert.Equal(expected.GetProperty("resize_size").GetInt32(), weights.transforms.resize_size);
        Assert.Equal(expected.GetProperty("is_default").GetBoolean(), ReferenceEquals(weights, torchvision.models.get_model_weights(architecture).DEFAULT));
    }

    [Fact]
    public void EveryArchitectureHasItsWeights()
        => Assert.Equal(Fixtures.Json("weights.json").EnumerateObject().Count(),
            torchvision.models.list_models().Sum(a => torchvision.models.get_model_weights(a).Values.Count));

    [Fact]
    public void WeightsFixTheNumberOfClasses()
    {
        var e = Assert.Throws<ArgumentException>(() => torchvision.models.resnet18(weights: ResNet18_Weights.IMAGENET1K_V1, num_classes: 10));
        Assert.StartsWith("The parameter 'num_classes' expected value 1000 but got 10 instead.", e.Message);
    }

    [Fact]
    public void WeightsOfAnotherArchitectureAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => torchvision.models.resnet50(weights: ResNet18_Weights.IMAGENET1K_V1));
        Assert.StartsWith("Invalid Weight class provided; expected ResNet50_Weights but received ResNet18_Weights.", e.Message);
    }

    [Fact]
    public void UnknownMemberListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => torchvision.models.get_model_weights("resnet50")["IMAGENET1K_V3"]);
        Assert.StartsWith("ResNet50_Weights has no weights IMAGENET1K_V3; it has DEFAULT, IMAGENET1K_V1, IMAGENET1K_V2.", e.Message);
    }

    [Fact]
    public void BuilderLoadsWeightsFromTorchHubsCache() => Fixtures.WithTorchHome(home =>
    {
        var checkpoints = Directory.CreateDirectory(Path.Combine(home.FullName, "hub", "checkpoints"));
        File.Copy(Fixtures.PathOf("forward_resnet18.weights.pt"), Path.Combine(checkpoints.FullName, ResNet18_Weights.IMAGENET1K_V1.FileName));

        using var model = torchvision.models.resnet18(weights: ResNet18_Weights.DEFAULT, progress: false);

        ModelCases.AssertDigests(model, "forward_resnet18.weights.json");
    });

    [Fact]
    public void CorruptCachedWeightsSayDeleteThem() => Fixtures.WithTorchHome(home =>
    {
        var checkpoints = Directory.CreateDirectory(Path.Combine(home.FullName, "hub", "checkpoints"));
        var cached = Path.Combine(checkpoints.FullName, ResNet18_Weights.IMAGENET1K_V1.FileName);
        File.WriteAllBytes(cached, new byte[4096]);

        var e = Assert.Throws<TorchVisionModels.Serialization.CheckpointException>(() => torchvision.models.resnet18(weights: ResNet18_Weights.DEFAULT, progress: false));

        Assert.Equal($"{cached}, ResNet18_Weights.IMAGENET1K_V1 in torch.hub's cache, is not a readable checkpoint: delete it, and the next run downloads it again.", e.Message);
    });

    public static TheoryData<string> Architectures => new(Fixtures.Json("legacy_pretrained.json").EnumerateObject().Select(p => p.Name));

    /// <summary>
    /// pretrained: true loads the weights torchvision 0.14's handle_legacy_interface gives; an unreadable cached file
    /// makes the builder name them without a real checkpoint.
    /// </summary>
    [Theory]
    [MemberData(nameof(Architectures))]
    public void PretrainedTrueMeansTorchvisionsLegacyWeights(string architecture) => Fixtures.WithTorchHome(home =>
    {
        var expected = Fixtures.Json("legacy_pretrained.json").GetProperty(architecture).GetString()!;
        var weights = torchvision.models.get_model_weights(architecture)[expected.Split('.')[1]];
        var checkpoints = Directory.CreateDirectory(Path.Combine(home.FullName, "hub", "checkpoints"));
        File.WriteAllBytes(Path.Combine(checkpoints.FullName, weights.FileName), new byte[16]);

        var e = Assert.Throws<TorchVisionModels.Serialization.CheckpointException>(() => torchvision.models.get_model_builder(architecture)(pretrained: true, progress: false));

        Assert.Contains($", {expected} in torch.hub's cache, is not a readable checkpoint", e.Message);
    });

    [Fact]
    public void PretrainedTrueLoadsTheWeights() => Fixtures.WithTorchHome(home =>
    {
        var checkpoints = Directory.CreateDirectory(Path.Combine(home.FullName, "hub", "checkpoints"));
        File.Copy(Fixtures.PathOf("forward_resnet18.weights.pt"), Path.Combine(checkpoints.FullName, ResNet18_Weights.IMAGENET1K_V1.FileName));

        using var model = torchvision.models.resnet18(pretrained: true, progress: false);

        ModelCases.AssertDigests(model, "forward_resnet18.weights.json");
    });

    [Fact]
    public void WeightsAndPretrainedTogetherAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => torchvision.models.resnet50(weights: ResNet50_Weights.IMAGENET1K_V2, pretrained: true));
        Assert.StartsWith("resnet50 was given both weights (ResNet50_Weights.IMAGENET1K_V2) and pretrained: true; pass only weights.", e.Message);
    }
}
