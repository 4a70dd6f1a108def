using Microsoft.ML.OnnxRuntime;
using TorchVisionModels.Onnx;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;

namespace Inference.Backends;

/// <summary>
/// An ONNX model run by ONNX Runtime, as a TorchSharp module (images in, logits out), so the classifier and the
/// benchmarks run it exactly as they run the TorchSharp network. CPU only.
/// </summary>
sealed class OnnxRuntimeModel : nn.Module<Tensor, Tensor>
{
    readonly InferenceSession session;

    public OnnxRuntimeModel(string path, int threads) : base(nameof(OnnxRuntimeModel))
    {
        using var options = new SessionOptions { IntraOpNumThreads = threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        session = new InferenceSession(path, options);
    }

    /// <summary>The model's metadata_props (architecture, categories, preprocessing, as the exporter writes them).</summary>
    public IReadOnlyDictionary<string, string> Metadata => session.ModelMetadata.CustomMetadataMap;

    public override Tensor forward(Tensor x)
    {
        using var input = x.to(float32).cpu().contiguous();
        var data = new DenseTensor(input.data<float>().ToArray(), input.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, data)]);
        var logits = results.Single().AsTensor<float>();
        return tensor(logits.ToArray(), logits.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            session.Dispose();
        base.Dispose(disposing);
    }
}
