using static TorchSharp.torch;

namespace TorchVisionModels.Classification;

/// <summary>How <see cref="ImageClassifier.Load"/> runs a model. The defaults are the fastest measured that give PyTorch's answers.</summary>
public sealed record ClassifierOptions
{
    /// <summary>Auto (default), Torch or OnnxRuntime.</summary>
    public InferenceBackend Backend { get; init; } = InferenceBackend.Auto;

    /// <summary>Where to run; null: the GPU when there is one, else the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>
    /// What the model computes in: Float32 (default); BFloat16 or Float16 on the Torch backend's fast path; Int8 on
    /// ONNX Runtime, the model quantized with <see cref="Calibration"/> (or an int8 .onnx file).
    /// </summary>
    public ScalarType Dtype { get; init; } = ScalarType.Float32;

    /// <summary>The images an <see cref="ScalarType.Int8"/> model is calibrated on; the quantized export is cached under a key that includes them.</summary>
    public CalibrationSet? Calibration { get; init; }

    /// <summary>Torch backend: fold the norm layers and run channels-last (<see cref="FusedResNet"/>); false runs the model as it is.</summary>
    public bool Fast { get; init; } = true;

    /// <summary>Threads the model computes with: ONNX Runtime's intra-op threads, or libtorch's (process-wide) on the Torch backend; 0 (default) for one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Change the weights' preprocessing preset, e.g. <c>p => p with { crop_size = 288 }</c> for a model trained at another size.</summary>
    public Func<Transforms.ImageClassification, Transforms.ImageClassification>? Preprocessing { get; init; }

    /// <summary>Show a download's progress on the console.</summary>
    public bool Progress { get; init; } = true;
}
