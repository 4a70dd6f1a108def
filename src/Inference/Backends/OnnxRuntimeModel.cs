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

    /// <summary>Opens <paramref name="path"/> with every graph optimisation, or, for a model ONNX Runtime optimised already, with none.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="threads">Intra-op threads; 0 for ONNX Runtime's default (the cores).</param>
    /// <param name="optimized">The file is ONNX Runtime's own optimised graph for this machine (see <paramref name="saveOptimizedTo"/>).</param>
    /// <param name="saveOptimizedTo">Where to write the optimised graph, which then opens in milliseconds instead of a second or more.</param>
    public static OnnxRuntimeModel Open(string path, int threads, bool optimized = false, string? saveOptimizedTo = null)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            GraphOptimizationLevel = optimized ? GraphOptimizationLevel.ORT_DISABLE_ALL : GraphOptimizationLevel.ORT_ENABLE_ALL,
            // Saving warns, rightly, that the optimised graph suits this machine only: the cache's key says which machine.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (saveOptimizedTo is not null)
            options.OptimizedModelFilePath = saveOptimizedTo;
        // The session first: a file ONNX Runtime refuses then leaves no half-built module for the finalizer.
        return new OnnxRuntimeModel(new InferenceSession(path, options));
    }

    OnnxRuntimeModel(InferenceSession session) : base(nameof(OnnxRuntimeModel)) => this.session = session;

    /// <summary>Returns <paramref name="model"/> when this model takes <paramref name="crop"/> x <paramref name="crop"/> images; otherwise says which size it takes.</summary>
    public TModel RequireInputSize<TModel>(int crop, string file, TModel model)
    {
        var dimensions = session.InputMetadata[OnnxExporter.InputName].Dimensions;
        if (dimensions.Length == 4 && dimensions[2] > 0 && (dimensions[2], dimensions[3]) != (crop, crop))
            throw new ArgumentException($"{file} was exported for {dimensions[3]}x{dimensions[2]} images, not the {crop}x{crop} that --crop-size asks for: classify with its own crop size, or export it with --dynamic-size.");
        return model;
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
