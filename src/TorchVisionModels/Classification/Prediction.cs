namespace TorchVisionModels.Classification;

/// <summary>One of an image's top classes.</summary>
/// <param name="label">The category's name.</param>
/// <param name="index">The category's index, the model's output unit.</param>
/// <param name="probability">Its softmax probability.</param>
public sealed record Prediction(string label, long index, float probability);

/// <summary>What classifying one file gave: its top classes, or why it could not be classified.</summary>
/// <param name="file">The image file.</param>
/// <param name="top">The top classes, most probable first; null when <paramref name="error"/> is set.</param>
/// <param name="error">Why the file could not be classified (it names the file); null on success.</param>
/// <param name="internal_error">The error is a bug of this library, not a problem of the file.</param>
public sealed record ClassificationResult(string file, IReadOnlyList<Prediction>? top, string? error, bool internal_error = false);
