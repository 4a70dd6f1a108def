using TorchVisionModels.Onnx;
using TorchVisionModels.Tests.Onnx;
using TorchVisionModels.Serialization;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>NormKinds is process-wide: these tests add to it, so they run alone, after the parallel ones.</summary>
[CollectionDefinition(Collection, DisableParallelization = true)]
public static class ProcessWideRegistries
{
    public const string Collection = "process-wide registries";
}

/// <summary>
/// ARCHITECTURE.md's claim: a new norm kind is one change. A kind added in one place (<see cref="NormKinds.Add"/>)
/// folds on the fast path, exports to ONNX and round-trips through a model card, each giving the plain model's logits.
/// </summary>
[Collection(ProcessWideRegistries.Collection)]
public class NormKindTests
{
    /// <summary>A norm layer the library has never seen: a learned per-channel scale and shift.</summary>
    sealed class ChannelAffine : nn.Module<Tensor, Tensor>
    {
        public ChannelAffine(long channels) : base(nameof(ChannelAffine))
        {
            register_parameter("weight", nn.Parameter(ones(channels)));
            register_parameter("bias", nn.Parameter(zeros(channels)));
        }

        public override Tensor forward(Tensor x)
            => x * get_parameter("weight")!.view(1, -1, 1, 1) + get_parameter("bias")!.view(1, -1, 1, 1);
    }

    static readonly NormKind Kind = new("channel-affine", "a per-channel scale and shift", c => new ChannelAffine(c), m => m is ChannelAffine,
        m => new NormEvaluation.PerChannel(m.get_parameter("weight")!.detach(), m.get_parameter("bias")!.detach(),
            zeros_like(m.get_parameter("weight")!), ones_like(m.get_parameter("weight")!), Eps: 0));

    // Relative to the largest logit; folding and ONNX Runtime change the float arithmetic. Measured: at most 4e-7.
    const double Tolerance = 1e-5;

    [Fact]
    public void ANewKindFoldsExportsAndRoundTripsThroughACard()
    {
        using var added = NormKinds.Add(Kind);
        var directory = Directory.CreateTempSubdirectory("norm-kind-");
        try
        {
            using var model = torchvision.models.resnet18(num_classes: 4, norm_layer: Kind.Create);
            using (no_grad())
            {
                // Not the identity the layer starts as, so folding has something to get wrong.
                var generator = new Generator(seed: 11);
                foreach (var (name, parameter) in model.named_parameters().Where(p => p.name.Contains("bn") || p.name.Contains("downsample.1")))
                    parameter.copy_(name.EndsWith("weight") ? rand(parameter.shape, generator: generator) + 0.5 : randn(parameter.shape, generator: generator) * 0.1);
            }
            model.eval();
            using var x = rand([2, 3, 64, 64], generator: new Generator(seed: 12));
            using var expected = Run(model, x);

            using (var fused = new FusedResNet(model, channelsLast: false))
            using (var folded = fused.call(x))
                Assert.True(Fixtures.RelativeError(folded, expected) < Tolerance, $"fast path: {Fixtures.RelativeError(folded, expected)}");

            var onnx = Path.Combine(directory.FullName, "model.onnx");
            OnnxExporter.Export(model, onnx, foldBatchNorm: true);
            using (var exported = OnnxExportTests.RunOnnx(onnx, x))
                Assert.True(Fixtures.RelativeError(exported, expected) < Tolerance, $"ONNX: {Fixtures.RelativeError(exported, expected)}");

            var weights = Path.Combine(directory.FullName, "model.pt");
            model.SaveStateDict(weights);
            var card = ModelCard.For(model, "resnet18", ["a", "b", "c", "d"], new ImageClassification(224), "a test");
            card.WriteBeside(weights);
            var read = ModelCard.Beside(weights)!;
            Assert.Equal("channel-affine", read.NormLayer);
            using var rebuilt = read.Load(weights, "model.card.json");
            Assert.IsType<ChannelAffine>(rebuilt.bn1);
            rebuilt.eval();
            using var again = Run(rebuilt, x);
            Assert.True(Fixtures.BitIdentical(again, expected));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void AKindIsKnownUntilItsRegistrationIsDisposed()
    {
        NormKinds.Add(Kind).Dispose();
        Assert.Equal(["bn", "frozen-bn", "gn"], NormKinds.Names);
        var e = Assert.Throws<ArgumentException>(() => NormKinds.Named("channel-affine"));
        Assert.Equal("norm layer 'channel-affine' is not one of bn, frozen-bn, gn.", e.Message);
    }

    [Fact]
    public void ANameIsTakenOnce()
    {
        var e = Assert.Throws<ArgumentException>(() => NormKinds.Add(Kind with { Name = "bn" }));
        Assert.StartsWith("A norm kind named 'bn' exists already.", e.Message);
    }

    static Tensor Run(ResNet model, Tensor x)
    {
        using var _ = no_grad();
        return model.call(x);
    }
}
