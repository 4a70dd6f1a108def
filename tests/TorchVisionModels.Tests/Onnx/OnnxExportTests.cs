using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = TorchSharp.torch.Tensor;
using TorchVisionModels.Onnx;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Onnx;

/// <summary>ONNX Runtime runs the exported model to the TorchSharp model's logits, folded or not; onnx.checker accepts it.</summary>
public class OnnxExportTests
{
    /// <summary>
    /// Every forward case (GroupNorm included, as Reshape, InstanceNormalization, Reshape, Mul and Add) but
    /// resnet18_nonsquare, resnet18's model with another input: this test draws its own.
    /// </summary>
    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in ModelCases.CaseNames("forward").Where(n => n != "resnet18_nonsquare"))
        {
            data.Add(name, false);
            data.Add(name, true);
        }
        return data;
    }

    // Relative to the largest logit. Measured on these cases: at most 9.0e-7 unfolded, 1.1e-6 folded.
    const double Tolerance = 1e-5;

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxRuntimeGivesTheSameLogits(string name, bool fold)
    {
        using var model = ModelCases.Forward(name);
        model.eval();
        var path = Path.Combine(Path.GetTempPath(), $"{name}-{fold}-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Export(model, path, foldBatchNorm: fold, metadata: new Dictionary<string, string> { ["architecture"] = name });
            using var x = rand([2, 3, 64, 80], generator: new Generator(seed: 3));
            using var expected = RunTorch(model, x);
            using var actual = RunOnnx(path, x);
            Assert.Equal(expected.shape, actual.shape);
            var error = Fixtures.RelativeError(actual, expected);
            Assert.True(error <= Tolerance, $"relative error {error:E2}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OnnxCheckerAcceptsTheModel(bool fold)
    {
        using var model = torchvision.models.resnext50_32x4d(num_classes: 10, replace_stride_with_dilation: [false, false, true], norm_layer: c => nn.GroupNorm(32, c));
        var path = Path.Combine(Path.GetTempPath(), $"checker-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxExporter.Export(model, path, foldBatchNorm: fold, metadata: new Dictionary<string, string> { ["architecture"] = "resnext50_32x4d" });
            var (exitCode, output) = Fixtures.RunPython("check_onnx.py", path);
            Assert.True(exitCode == 0, output);
            Assert.Equal("ok", output.Trim());

            using var session = new InferenceSession(path);
            Assert.Equal("resnext50_32x4d", session.ModelMetadata.CustomMetadataMap["architecture"]);
            Assert.Equal([-1, 3, -1, -1], session.InputMetadata[OnnxExporter.InputName].Dimensions);
            Assert.Equal([-1, 10], session.OutputMetadata[OnnxExporter.OutputName].Dimensions);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void InputSizeCanBeFixed()
    {
        using var model = torchvision.models.resnet18();
        var graph = OnnxExporter.ToModel(model, inputSize: (224, 224)).Graph;
        var dims = graph.Input.Single().Type.TensorType.Shape.Dim;
        Assert.Equal(["batch", "", "", ""], dims.Select(d => d.DimParam));
        Assert.Equal([0L, 3, 224, 224], dims.Select(d => d.DimValue));
    }

    [Fact]
    public void ACustomNormLayerIsNamed()
    {
        using var model = torchvision.models.resnet18(norm_layer: c => nn.InstanceNorm2d(c));
        var e = Assert.Throws<NotSupportedException>(() => OnnxExporter.ToModel(model));
        Assert.Equal("bn1 is a InstanceNorm2d, of no known norm kind: bn (BatchNorm2d with running statistics), frozen-bn (FrozenBatchNorm2d), gn (GroupNorm of 32 groups). NormKinds.Add makes a new kind known.", e.Message);
    }

    static Tensor RunTorch(ResNet model, Tensor x)
    {
        using var _ = no_grad();
        return model.call(x);
    }

    /// <summary>ONNX Runtime's logits for <paramref name="x"/>.</summary>
    internal static Tensor RunOnnx(string path, Tensor x)
    {
        using var session = new InferenceSession(path);
        var input = new DenseTensor(x.data<float>().ToArray(), x.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, input)]);
        var logits = results.Single().AsTensor<float>();
        return tensor(logits.ToArray(), logits.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }
}
