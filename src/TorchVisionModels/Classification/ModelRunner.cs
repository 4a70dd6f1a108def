using TorchVisionModels.Onnx;
using TorchVisionModels.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchVisionModels.Classification;

/// <summary>The module that runs a <see cref="ModelSource"/> on a chosen backend.</summary>
public static class ModelRunner
{
    const int Opset = 17;

    /// <summary>
    /// The module that runs <paramref name="source"/> as <paramref name="backend"/> says, for images preprocessed by
    /// <paramref name="preset"/>: ONNX Runtime on the cached export (<see cref="OnnxExportCache"/>; in int8, quantized
    /// on <see cref="ClassifierOptions.Calibration"/>) or on the .onnx file; TorchSharp's <see cref="FusedResNet"/>
    /// on <paramref name="device"/> in the options' dtype when they ask for the fast path; else the network itself.
    /// The caller owns and disposes what it gets (when it is the network itself, <paramref name="source"/> no longer
    /// disposes it).
    /// </summary>
    /// <exception cref="OptionException">Int8 was asked for of a float32 .onnx file.</exception>
    public static nn.Module<Tensor, Tensor> Create(ModelSource source, InferenceBackend backend, Device device, ClassifierOptions options, ImageClassification preset)
    {
        if (backend == InferenceBackend.OnnxRuntime && source.IsOnnx)
        {
            if (options.Dtype == ScalarType.Int8 && source.Quantization is null)
                throw new OptionException("Weights", source.WeightsFile!, "it is a float32 model, not an int8 one",
                    (nameof(ClassifierOptions.Dtype), ScalarType.Float32));
            return OnnxRuntimeModel.Open(source.WeightsFile!, options.Threads).RequireInputSize(preset.crop_size, source.WeightsFile!);
        }
        if (backend == InferenceBackend.OnnxRuntime)
            return Exported(source, options, preset);
        if (options.Threads > 0)
            set_num_threads(options.Threads);
        if (options.Fast)
        {
            // FusedResNet keeps its own copies of the weights: the network is not needed afterwards.
            return source.WithNetwork(model =>
            {
                model.to(device);
                model.eval();
                return new FusedResNet(model, dtype: options.Dtype);
            });
        }
        var plain = source.TakeNetwork();
        plain.to(device);
        plain.eval();
        return plain;
    }

    /// <summary>The export for ONNX Runtime (float32, or int8 when asked), cached when the weights come from a file.</summary>
    static OnnxRuntimeModel Exported(ModelSource source, ClassifierOptions options, ImageClassification preset)
    {
        var calibration = options.Dtype == ScalarType.Int8 ? options.Calibration! : null;
        var size = preset.crop_size;
        void Export(string path, IReadOnlyDictionary<string, string>? metadata)
        {
            if (calibration is null)
                source.ExportOnnx(path, foldBatchNorm: true, Opset, size, metadata);
            else
                source.ExportInt8(path, calibration, preset, Opset, size, metadata);
        }

        if (source.WeightsFile is null)
        {
            var path = Path.Combine(Path.GetTempPath(), $"{source.Architecture}-{Guid.NewGuid():N}.onnx");
            try
            {
                Export(path, null);
                return OnnxRuntimeModel.Open(path, options.Threads);
            }
            finally
            {
                File.Delete(path);
            }
        }
        // An int8 export is named by its calibration too: other images, another method or another preprocessing of
        // them make another model.
        var identity = calibration is null ? source.Identity
            : string.Join('\n', source.Identity, "int8", calibration.Sha256(calibration.Files()), System.Text.Json.JsonSerializer.Serialize(ModelCard.Preprocessing.Of(preset)));
        var key = OnnxExportCache.Key(source.WeightsFile, identity, size, fold: true, Opset);
        var name = calibration is null ? source.Architecture : $"{source.Architecture}-int8";
        return OnnxExportCache.Open(name, key, options.Threads, path => Export(path, new Dictionary<string, string> { [OnnxExportCache.KeyEntry] = key }));
    }
}
