using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;

namespace TorchVisionModels.Onnx;

/// <summary>
/// An ONNX model run by ONNX Runtime, as a TorchSharp module (images in, logits out), so the classifier and the
/// benchmarks run it exactly as they run the TorchSharp network. CPU only.
/// </summary>
public sealed class OnnxRuntimeModel : nn.Module<Tensor, Tensor>
{
    readonly InferenceSession session;
    FileStream? heldOpen;

    /// <summary>
    /// Opens <paramref name="path"/> with every graph optimisation, or, for a model ONNX Runtime optimised already,
    /// with none. The session options are set by measurement (benchmarks/RESULTS.md): one intra-op thread per
    /// logical core (ONNX Runtime's own default, physical cores, ran ResNet-50 on one of two vCPUs, at half speed),
    /// sequential execution (parallel was up to 2.2x slower), the memory arena on (off: 1.65x slower at batch 8),
    /// and no spinning between runs, which costs nothing measurable and leaves the cores to image decoding.
    /// </summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="threads">Intra-op threads; 0 for one per logical core.</param>
    /// <param name="optimized">The file is ONNX Runtime's own optimised graph for this machine (see <paramref name="saveOptimizedTo"/>).</param>
    /// <param name="saveOptimizedTo">Where to write the optimised graph, which then opens in milliseconds instead of a second or more.</param>
    public static OnnxRuntimeModel Open(string path, int threads, bool optimized = false, string? saveOptimizedTo = null)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads > 0 ? threads : Environment.ProcessorCount,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = optimized ? GraphOptimizationLevel.ORT_DISABLE_ALL : GraphOptimizationLevel.ORT_ENABLE_ALL,
            // Saving warns, rightly, that the optimised graph suits this machine only: the cache's key says which machine.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (saveOptimizedTo is not null)
            options.OptimizedModelFilePath = saveOptimizedTo;
        // The session first: a file ONNX Runtime refuses then leaves no half-built module for the finalizer.
        return new OnnxRuntimeModel(new InferenceSession(path, options));
    }

    OnnxRuntimeModel(InferenceSession session) : base(nameof(OnnxRuntimeModel)) => this.session = session;

    /// <summary>This model, when it takes <paramref name="crop"/> x <paramref name="crop"/> images; otherwise it is disposed and the message says which size it takes.</summary>
    public OnnxRuntimeModel RequireInputSize(int crop, string file)
    {
        var dimensions = session.InputMetadata[OnnxExporter.InputName].Dimensions;
        if (dimensions.Length == 4 && dimensions[2] > 0 && (dimensions[2], dimensions[3]) != (crop, crop))
        {
            Dispose();
            throw new ArgumentException($"{file} was exported for {dimensions[3]}x{dimensions[2]} images, not the {crop}x{crop} crop asked for: classify with its own crop size, or export it with --dynamic-size.");
        }
        return this;
    }

    /// <summary>
    /// Keeps <paramref name="path"/> open with a shared lock while the model lives, so that the export cache's
    /// eviction, in this process or another, leaves it alone.
    /// </summary>
    internal void HoldOpen(string path) => heldOpen = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);

    /// <summary>The model's metadata_props (architecture, categories, preprocessing, as the exporter writes them).</summary>
    public IReadOnlyDictionary<string, string> Metadata => session.ModelMetadata.CustomMetadataMap;

    /// <summary>The logits of <paramref name="x"/>, a batch of preprocessed images, on the CPU.</summary>
    public override Tensor forward(Tensor x)
    {
        using var input = x.to(float32).cpu().contiguous();
        var data = new DenseTensor(input.data<float>().ToArray(), input.shape.Select(d => (int)d).ToArray());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, data)]);
        var logits = results.Single().AsTensor<float>();
        return tensor(logits.ToArray(), logits.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }

    /// <summary>Closes the ONNX Runtime session.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            session.Dispose();
            heldOpen?.Dispose();
        }
        base.Dispose(disposing);
    }
}
