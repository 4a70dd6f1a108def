namespace TorchVisionModels.Classification;

/// <summary>What runs a model for inference.</summary>
public enum InferenceBackend
{
    /// <summary>The fastest measured backend that gives PyTorch's answers for the device and type: see <see cref="BackendChoice.For(ClassifierOptions, string?)"/>.</summary>
    Auto,

    /// <summary>TorchSharp (libtorch): the model itself, or its fast copy, <see cref="FusedResNet"/>.</summary>
    Torch,

    /// <summary>ONNX Runtime on the model's ONNX export, made once and cached (<see cref="Onnx.OnnxExportCache"/>). CPU, float32.</summary>
    OnnxRuntime,
}
