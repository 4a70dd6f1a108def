using TorchVisionModels.Serialization;
using TorchVisionModels.Transforms;

namespace TorchVisionModels.Tests;

/// <summary>
/// Model cards: those scripts/export_weights.py writes read here and rebuild PyTorch's network; bad cards and cards
/// that contradict their weights get one message naming the file.
/// </summary>
public class ModelCardTests : IDisposable
{
    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("model-card-");

    public static TheoryData<string> PythonCards() => [.. Fixtures.Json("model_cards.json").EnumerateObject().Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(PythonCards))]
    public void PythonsCardRebuildsPyTorchsNetwork(string name)
    {
        var card = ModelCard.Read(Fixtures.PathOf($"model_card_{name}.json"));
        using var model = card.Build();
        var expected = Fixtures.Json("model_cards.json").GetProperty(name).EnumerateObject().Select(p => (p.Name, string.Join(",", p.Value.EnumerateArray()))).ToList();
        Assert.Equal(expected, model.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape))).ToList());
        // Read off the network, the card is the one Python wrote.
        Assert.Equal(card.ToJson(), ModelCard.For(model, card.Architecture, card.Categories, card.Transforms.ToPreset(), card.Weights).ToJson());
    }

    [Fact]
    public void ACardRoundTripsBesideItsWeights()
    {
        using var model = torchvision.models.resnet50(num_classes: 3, replace_stride_with_dilation: [false, true, true], norm_layer: c => new FrozenBatchNorm2d(c));
        var weights = Path.Combine(directory.FullName, "model.pt");
        model.SaveStateDict(weights);
        var card = ModelCard.For(model, "resnet50", ["a", "b", "c"], new ImageClassification(288, 320), "a test");
        card.WriteBeside(weights);
        Assert.Equal(Path.Combine(directory.FullName, "model.card.json"), ModelCard.PathFor(weights));
        var read = ModelCard.Beside(weights)!;
        Assert.Equal(card.ToJson(), read.ToJson());
        Assert.Equal(("frozen-bn", 288, 320), (read.NormLayer, read.Transforms.CropSize, read.Transforms.ResizeSize));
        using var loaded = read.Load(weights, "model.json");
        Assert.All(model.state_dict(), kv => Assert.True(Fixtures.BitIdentical(kv.Value, loaded.state_dict()[kv.Key]), kv.Key));
    }

    [Fact]
    public void ACardThatContradictsItsWeightsNamesBoth()
    {
        using var model = torchvision.models.resnet18(num_classes: 3);
        var weights = Path.Combine(directory.FullName, "model.pt");
        model.SaveStateDict(weights);
        var card = ModelCard.For(model, "resnet18", ["a", "b", "c"], new ImageClassification(224), "a test") with { NumClasses = 4, Categories = ["a", "b", "c", "d"] };
        var e = Assert.Throws<ArgumentException>(() => card.Load(weights, "model.json"));
        Assert.StartsWith($"model.json describes resnet18 (num_classes 4, norm_layer bn, replace_stride_with_dilation [false, false, false]), but {weights} does not fit it: ", e.Message);
        Assert.Contains("size mismatch for fc.weight", e.Message);
    }

    [Theory]
    [InlineData("{", "card.json is not a model card: ")]
    [InlineData("\"norm_layer\": \"bn\"", "card.json is not a valid model card: norm_layer 'ln' is not one of bn, frozen-bn, gn.")]
    [InlineData("\"architecture\": \"resnet18\"", "card.json is not a valid model card: architecture 'resnet19' is neither ResNet nor one of ")]
    [InlineData("\"num_classes\": 3", "card.json is not a valid model card: num_classes is 5 but it lists 3 categories.")]
    [InlineData("\"format\": \"torchvision-resnet-model-card/1\"", "card.json is not a valid model card: its format is 'other/2', not 'torchvision-resnet-model-card/1'.")]
    [InlineData("\"interpolation\": \"bilinear\"", "card.json is not a valid model card: interpolation 'lanczos' is not one of bilinear, bicubic.")]
    public void ABadCardGetsOneMessage(string field, string message)
    {
        using var model = torchvision.models.resnet18(num_classes: 3);
        var json = ModelCard.For(model, "resnet18", ["a", "b", "c"], new ImageClassification(224), "a test").ToJson();
        Assert.Contains(field, json.Replace("\n", " "));
        var broken = field == "{" ? "{" : json.Replace(field, field switch
        {
            "\"norm_layer\": \"bn\"" => "\"norm_layer\": \"ln\"",
            "\"architecture\": \"resnet18\"" => "\"architecture\": \"resnet19\"",
            "\"num_classes\": 3" => "\"num_classes\": 5",
            "\"interpolation\": \"bilinear\"" => "\"interpolation\": \"lanczos\"",
            _ => "\"format\": \"other/2\"",
        });
        var e = Assert.Throws<ArgumentException>(() => ModelCard.Parse(broken, "card.json"));
        Assert.StartsWith(message, e.Message);
    }

    public void Dispose() => directory.Delete(recursive: true);
}
