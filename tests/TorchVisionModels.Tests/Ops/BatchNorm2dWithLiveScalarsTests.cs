using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Ops;

/// <summary>ResNet's default norm layer is TorchSharp's BatchNorm2d in all but how long its scalars live.</summary>
public class BatchNorm2dWithLiveScalarsTests
{
    [Fact]
    public void TrainsAndEvaluatesAsBatchNorm2d()
    {
        using var expected = nn.BatchNorm2d(8);
        using var actual = new BatchNorm2dWithLiveScalars(8);
        using var scope = NewDisposeScope();
        var generator = new Generator(seed: 3);
        using (no_grad())
        {
            expected.weight!.uniform_(0.5, 1.5, generator: new Generator(seed: 1));
            actual.weight!.uniform_(0.5, 1.5, generator: new Generator(seed: 1));
        }

        foreach (var step in Enumerable.Range(0, 3))
        {
            var x = randn([4, 8, 5, 5], generator: generator);
            Assert.True(Fixtures.BitIdentical(expected.call(x), actual.call(x)), $"train step {step}");
        }
        Assert.Equal(expected.state_dict().Keys, actual.state_dict().Keys);
        Assert.All(expected.state_dict(), kv => Assert.True(Fixtures.BitIdentical(kv.Value, actual.state_dict()[kv.Key]), kv.Key));
        Assert.Equal(3, actual.num_batches_tracked!.item<long>());

        expected.eval();
        actual.eval();
        var y = randn([2, 8, 5, 5], generator: generator);
        Assert.True(Fixtures.BitIdentical(expected.call(y), actual.call(y)), "eval");
        // PyTorch's class name (TorchSharp 0.107's own BatchNorm2d calls itself "BatchNorm1d").
        Assert.Equal("BatchNorm2d", actual.GetName());
    }

    [Fact]
    public void RefusesInputsThatAreNot4Dimensional()
    {
        using var norm = new BatchNorm2dWithLiveScalars(3);
        using var x = zeros(2, 3);
        var e = Assert.Throws<ArgumentException>(() => norm.call(x));
        Assert.Equal("expected 4D input (got 2D input)", e.Message);
    }

    [Fact]
    public void IsResNetsDefaultNormLayer()
    {
        using var model = torchvision.models.resnet18();
        Assert.IsType<BatchNorm2dWithLiveScalars>(model.bn1);
        Assert.IsType<BatchNorm2dWithLiveScalars>(((BasicBlock)model.layer1[0]).bn2);
    }
}
