using TorchSharp;
using TorchVisionModels.Serialization;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Serialization;

/// <summary>
/// Every format and wrapping a user brings loads into the model with one call, bit for bit: a full-size resnet18
/// that PyTorch wrote, and a small ResNet in every wrapping and dtype (serialization/).
/// </summary>
public class LoadStateDictTests
{
    static string FileOf(string name) => Fixtures.PathOf(Path.Combine("serialization", name));

    /// <summary>The resnet18 checkpoint PyTorch wrote with torch.save (the forward case's weights).</summary>
    static readonly string Resnet18 = Fixtures.PathOf("forward_resnet18.weights.pt");

    /// <summary>
    /// The reference: the weights every small file holds, rebuilt from the seed and proven bit-identical to PyTorch's
    /// by its digests, so no reader is its own oracle.
    /// </summary>
    static Dictionary<string, Tensor> Reference()
    {
        using var model = ModelCases.Serialization();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    [Fact]
    public void LoadsAFullSizeCheckpointBitIdentical()
    {
        using (var file = CheckpointFile.Open(Resnet18))
            Assert.Equal(CheckpointFormat.PyTorch, file.Format);
        using var model = torchvision.models.resnet18();
        Assert.True(model.load_state_dict(Resnet18).IsComplete);
        ModelCases.AssertDigests(model, "forward_resnet18.weights.json");
    }

    [Theory]
    [InlineData("small.safetensors", CheckpointFormat.Safetensors)]
    [InlineData("small_views.pth", CheckpointFormat.PyTorch)]
    [InlineData("small_checkpoint_state_dict.pth", CheckpointFormat.PyTorch)]
    [InlineData("small_checkpoint_model_ddp.pth", CheckpointFormat.PyTorch)]
    public void LoadsEveryWrappingBitIdentical(string name, CheckpointFormat format)
    {
        using (var file = CheckpointFile.Open(FileOf(name)))
            Assert.Equal(format, file.Format);
        using var model = ModelCases.NewSerializationModel();
        Assert.True(model.load_state_dict(FileOf(name)).IsComplete);
        ModelCases.AssertDigests(model, ModelCases.SerializationDigests);
    }

    [Theory]
    [InlineData("small_fp16.pth", ScalarType.Float16)]
    [InlineData("small_bf16.pth", ScalarType.BFloat16)]
    [InlineData("small_fp64.pth", ScalarType.Float64)]
    public void ConvertsToTheModelsDtype(string name, ScalarType stored)
    {
        using var model = ModelCases.NewSerializationModel();
        model.load_state_dict(FileOf(name));

        var reference = Reference();
        Assert.All(model.state_dict(), kv =>
        {
            Assert.Equal(reference[kv.Key].dtype, kv.Value.dtype);
            using var expected = reference[kv.Key].is_floating_point() ? reference[kv.Key].to(stored).to(kv.Value.dtype) : reference[kv.Key].alias();
            Assert.True(Fixtures.BitIdentical(kv.Value, expected), kv.Key);
        });
        Fixtures.DisposeAll(reference.Values);
    }

    [Fact]
    public void LoadsIntoADoubleModel()
    {
        using var model = torchvision.models.resnet18().to(float64);
        model.load_state_dict(Resnet18);
        using var reference = ModelCases.Forward("resnet18");
        using var expected = reference.fc.weight!.to(float64);
        Assert.True(Fixtures.BitIdentical(model.fc.weight!, expected));
    }

    [Fact]
    public void ReadsTorchSharpsOwnFormat()
    {
        using var source = torchvision.models.resnet18();
        source.load_state_dict(Resnet18);
        var path = Path.Combine(Path.GetTempPath(), $"torchsharp-{Guid.NewGuid():N}.dat");
        try
        {
            source.save(path);
            using (var file = CheckpointFile.Open(path))
                Assert.Equal(CheckpointFormat.TorchSharp, file.Format);
            using var model = torchvision.models.resnet18();
            Assert.True(model.load_state_dict(path).IsComplete);
            ModelCases.AssertDigests(model, "forward_resnet18.weights.json");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TransferLearningSkipsTheHead()
    {
        manual_seed(1);
        using var model = torchvision.models.resnet18(num_classes: 10);
        using var head = model.fc.weight!.clone();

        var result = model.load_state_dict(Resnet18, skip: ["fc"]);

        Assert.True(result.IsComplete);
        Assert.True(Fixtures.BitIdentical(model.fc.weight!, head));
        using var reference = ModelCases.Forward("resnet18");
        Assert.True(Fixtures.BitIdentical(model.layer4.state_dict()["1.bn2.running_var"], reference.layer4.state_dict()["1.bn2.running_var"]));
    }

    [Fact]
    public void StrictLoadListsEveryProblemAndChangesNothing()
    {
        using var model = ModelCases.NewSerializationModel();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        var e = Assert.Throws<CheckpointException>(() => model.load_state_dict(FileOf("small_mismatched.pth")));

        // A BatchNorm's missing num_batches_tracked is filled in, as PyTorch does for files without version metadata.
        var layer4 = model.state_dict().Keys.Where(k => k.StartsWith("layer4.") && !k.EndsWith("num_batches_tracked")).ToList();
        Assert.Equal(15, layer4.Count);
        Assert.Equal(layer4, e.Result!.missing_keys);
        Assert.Equal(["extra.weight"], e.Result.unexpected_keys);
        var mismatch = Assert.Single(e.Result.MismatchedShapes);
        Assert.Equal("fc.weight", mismatch.Key);
        Assert.Equal([10, 512], mismatch.Expected);
        Assert.Equal([1000, 512], mismatch.Found);
        Assert.StartsWith($"Error(s) in loading state_dict for ResNet from {FileOf("small_mismatched.pth")}:", e.Message);
        Assert.Contains($"Missing key(s) in state_dict: {string.Join(", ", layer4.Select(k => $"\"{k}\""))}.", e.Message);
        Assert.Contains("Unexpected key(s) in state_dict: \"extra.weight\".", e.Message);
        Assert.Contains("size mismatch for fc.weight: copying a param with shape [1000, 512] from checkpoint, the shape in current model is [10, 512].", e.Message);
        Assert.All(model.state_dict(), kv => Assert.True(Fixtures.BitIdentical(kv.Value, before[kv.Key]), kv.Key));
        Fixtures.DisposeAll(before.Values);
    }

    [Fact]
    public void NonStrictLoadReturnsTheProblemsAndLoadsTheRest()
    {
        using var model = ModelCases.NewSerializationModel();
        using var fc = model.fc.weight!.clone();

        var result = model.load_state_dict(FileOf("small_mismatched.pth"), strict: false);

        Assert.Equal(15, result.missing_keys.Count);
        Assert.Equal(["extra.weight"], result.unexpected_keys);
        Assert.Equal("fc.weight", Assert.Single(result.MismatchedShapes).Key);
        Assert.True(Fixtures.BitIdentical(model.fc.weight!, fc));
        var reference = Reference();
        Assert.True(Fixtures.BitIdentical(model.conv1.weight!, reference["conv1.weight"]));
        Fixtures.DisposeAll(reference.Values);
    }

    [Fact]
    public void FrozenBatchNormIgnoresNumBatchesTracked()
    {
        using var model = torchvision.models.resnet18(norm_layer: c => new FrozenBatchNorm2d(c));
        Assert.True(model.load_state_dict(Resnet18).IsComplete);
    }

    [Fact]
    public void TruncatedFileChangesNothing()
    {
        using var model = torchvision.models.resnet18();
        using var before = model.conv1.weight!.clone();
        var e = Assert.Throws<CheckpointException>(() => model.load_state_dict(FileOf("truncated.pth")));
        Assert.Equal($"{FileOf("truncated.pth")} is not a readable PyTorch checkpoint: End of Central Directory record could not be found. It may be truncated or corrupt; export it again.", e.Message);
        Assert.True(Fixtures.BitIdentical(model.conv1.weight!, before));
    }
}
