using TorchVisionModels.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchVisionModels.Classification;

/// <summary>The module that runs a <see cref="ModelSource"/> on a chosen backend.</summary>
public static class ModelRunner
{
    /// <summary>
    /// The module that runs <paramref name="source"/> as <paramref name="backend"/> says, for <paramref name="cropSize"/> x
    /// <paramref name="cropSize"/> images: ONNX Runtime on the cached export (<see cref="OnnxExportCache"/>) or on
    /// the .onnx file; TorchSharp's <see cref="FusedResNet"/> on <paramref name="device"/> in <paramref name="dtype"/>
    /// when <paramref name="fast"/>; else the network itself. The caller owns and disposes what it gets (when it is
    /// the network itself, <paramref name="source"/> no longer disposes it).
    /// </summary>
    public static nn.Module<Tensor, Tensor> Create(ModelSource source, InferenceBackend backend, Device device, ScalarType dtype, bool fast, int threads, int cropSize)
    {
        if (backend == InferenceBackend.OnnxRuntime)
            return source.IsOnnx ? OnnxRuntimeModel.Open(source.WeightsFile!, threads).RequireInputSize(cropSize, source.WeightsFile!) : Exported(source, threads, cropSize);
        if (fast)
        {
            // FusedResNet keeps its own copies of the weights: the network is not needed afterwards.
            return source.WithNetwork(model =>
            {
                model.to(device);
                model.eval();
                return new FusedResNet(model, dtype: dtype);
            });
        }
        var plain = source.TakeNetwork();
        plain.to(device);
        plain.eval();
        return plain;
    }

    static OnnxRuntimeModel Exported(ModelSource source, int threads, int size)
    {
        const int opset = 17;
        if (source.WeightsFile is null)
        {
            var path = Path.Combine(Path.GetTempPath(), $"{source.Architecture}-{Guid.NewGuid():N}.onnx");
            try
            {
                source.ExportOnnx(path, foldBatchNorm: true, opset, size);
                return OnnxRuntimeModel.Open(path, threads);
            }
            finally
            {
                File.Delete(path);
            }
        }
        var key = OnnxExportCache.Key(source.WeightsFile, source.Identity, size, fold: true, opset);
        return OnnxExportCache.Open(source.Architecture, key, threads,
            path => source.ExportOnnx(path, foldBatchNorm: true, opset, size, new Dictionary<string, string> { [OnnxExportCache.KeyEntry] = key }));
    }
}
