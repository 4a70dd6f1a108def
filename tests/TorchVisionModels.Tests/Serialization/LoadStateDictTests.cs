using TorchSharp;
using TorchVisionModels.Serialization;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Serialization;

/// <summary>Every format and wrapping a user brings loads into the model with one call, bit for bit.</summary>
public class LoadStateDictTests
{
    static string FileOf(string name) => Fixtures.PathOf(Path.Combine("serialization", name));

    /// <summary>
    /// The reference: the weights every file holds, rebuilt from the seed and proven bit-identical to PyTorch's by its
    /// digests, so no reader is its own oracle.
    /// </summary>
    static Dictionary<string, Tensor> Reference()
    {
        using var model = ModelCases.Serialization();
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    [Theory]
    [InlineData("resnet18.pth", CheckpointFormat.PyTorch)]
    [InlineData("resnet18_views.pth", CheckpointFormat.PyTorch)]
    [InlineData("resnet18.safetensors", CheckpointFormat.Safetensors)]
    [InlineData("resnet18_checkpoint_state_dict.pth", CheckpointFormat.PyTorch)]
    [InlineData("resnet18_checkpoint_model_ddp.pth", CheckpointFormat.PyTorch)]
    public void LoadsBitIdentical(string name, CheckpointFormat format)
    {
        using (var file = CheckpointFile.Open(FileOf(name)))
            Assert.Equal(format, file.Format);
        using var model = torchvision.models.resnet18();
        var result = model.load_state_dict(FileOf(name));

        Assert.True(result.IsComplete);
        var reference = Reference();
        Assert.All(model.state_dict(), kv => Assert.True(Fixtures.BitIdentical(kv.Value, reference[kv.Key]), kv.Key));
        Fixtures.DisposeAll(reference.Values);
    }

    [Theory]
    [InlineData("resnet18_fp16.pth", ScalarType.Float16)]
    [InlineData("resnet18_bf16.pth", ScalarType.BFloat16)]
    [InlineData("resnet18_fp64.pth", ScalarType.Float64)]
    public void ConvertsToTheModelsDtype(string name, ScalarType stored)
    {
        using var model = torchvision.models.resnet18();
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
        model.load_state_dict(FileOf("resnet18.pth"));
        var reference = Reference();
        using var expected = reference["fc.weight"].to(float64);
        Assert.True(Fixtures.BitIdentical(model.fc.weight!, expected));
        Fixtures.DisposeAll(reference.Values);
    }

    [Fact]
    public void ReadsTorchSharpsOwnFormat()
    {
        using var source = torchvision.models.resnet18();
        source.load_state_dict(FileOf("resnet18.pth"));
        var path = Path.Combine(Path.GetTempPath(), $"torchsharp-{Guid.NewGuid():N}.dat");
        try
        {
            source.save(path);
            using (var file = CheckpointFile.Open(path))
                Assert.Equal(CheckpointFormat.TorchSharp, file.Format);
            using var model = torchvision.models.resnet18();
            Assert.True(model.load_state_dict(path).IsComplete);
            Assert.All(model.state_dict(), kv => Assert.True(Fixtures.BitIdentical(kv.Value, source.state_dict()[kv.Key]), kv.Key));
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

        var result = model.load_state_dict(FileOf("resnet18.pth"), skip: ["fc"]);

        Assert.True(result.IsComplete);
        Assert.True(Fixtures.BitIdentical(model.fc.weight!, head));
        var reference = Reference();
        Assert.True(Fixtures.BitIdentical(model.layer4.state_dict()["1.bn2.running_var"], reference["layer4.1.bn2.running_var"]));
        Fixtures.DisposeAll(reference.Values);
    }

    [Fact]
    public void StrictLoadListsEveryProblemAndChangesNothing()
    {
        using var model = torchvision.models.resnet18();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        var e = Assert.Throws<CheckpointException>(() => model.load_state_dict(FileOf("resnet18_mismatched.pth")));

        // A BatchNorm's missing num_batches_tracked is filled in, as PyTorch does for files without version metadata.
        var layer41 = model.state_dict().Keys.Where(k => k.StartsWith("layer4.1.") && !k.EndsWith("num_batches_tracked")).ToList();
        Assert.Equal(10, layer41.Count);
        Assert.Equal(layer41, e.Result!.missing_keys);
        Assert.Equal(["extra.weight"], e.Result.unexpected_keys);
        var mismatch = Assert.Single(e.Result.mismatched_shapes);
        Assert.Equal("fc.weight", mismatch.key);
        Assert.Equal([1000, 512], mismatch.expected);
        Assert.Equal([10, 512], mismatch.found);
        Assert.StartsWith($"Error(s) in loading state_dict for ResNet from {FileOf("resnet18_mismatched.pth")}:", e.Message);
        Assert.Contains($"Missing key(s) in state_dict: {string.Join(", ", layer41.Select(k => $"\"{k}\""))}.", e.Message);
        Assert.Contains("Unexpected key(s) in state_dict: \"extra.weight\".", e.Message);
        Assert.Contains("size mismatch for fc.weight: copying a param with shape [10, 512] from checkpoint, the shape in current model is [1000, 512].", e.Message);
        Assert.All(model.state_dict(), kv => Assert.True(Fixtures.BitIdentical(kv.Value, before[kv.Key]), kv.Key));
        Fixtures.DisposeAll(before.Values);
    }

    [Fact]
    public void NonStrictLoadReturnsTheProblemsAndLoadsTheRest()
    {
        using var model = torchvision.models.resnet18();
        using var fc = model.fc.weight!.clone();

        var result = model.load_state_dict(FileOf("resnet18_mismatched.pth"), strict: false);

        Assert.Equal(10, result.missing_keys.Count);
        Assert.Equal(["extra.weight"], result.unexpected_keys);
        Assert.Equal("fc.weight", Assert.Single(result.mismatched_shapes).key);
        Assert.True(Fixtures.BitIdentical(model.fc.weight!, fc));
        var reference = Reference();
        Assert.True(Fixtures.BitIdentical(model.conv1.weight!, reference["conv1.weight"]));
        Fixtures.DisposeAll(reference.Values);
    }

    [Fact]
    public void FrozenBatchNormIgnoresNumBatchesTracked()
    {
        using var model = torchvision.models.resnet18(norm_layer: c => new FrozenBatchNorm2d(c));
        Assert.True(model.load_state_dict(FileOf("resnet18.pth")).IsComplete);
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
