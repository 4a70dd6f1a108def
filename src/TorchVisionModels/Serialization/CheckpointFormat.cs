namespace TorchVisionModels.Serialization;

/// <summary>The checkpoint formats this library reads, recognised by content rather than file name.</summary>
public enum CheckpointFormat
{
    /// <summary>torch.save's zip format (PyTorch 1.6 and later): <c>.pth</c>, <c>.pt</c>, <c>.bin</c>.</summary>
    PyTorch,

    /// <summary>Hugging Face's <c>.safetensors</c>.</summary>
    Safetensors,

    /// <summary>TorchSharp's own <c>Module.save</c> format.</summary>
    TorchSharp,
}
