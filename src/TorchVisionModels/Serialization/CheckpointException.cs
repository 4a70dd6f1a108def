namespace TorchVisionModels.Serialization;

/// <summary>A checkpoint file that cannot be read, or whose tensors do not fit the model. The message names the file.</summary>
public sealed class CheckpointException : IOException
{
    internal CheckpointException(string message, Exception? inner = null, LoadStateDictResult? result = null) : base(message, inner)
        => Result = result;

    /// <summary>For a strict load that did not fit: every missing key, unexpected key and shape mismatch.</summary>
    public LoadStateDictResult? Result { get; }
}
