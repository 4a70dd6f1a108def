namespace TorchVisionModels.Classification;

/// <summary>One of an image's top classes.</summary>
/// <param name="Label">The category's name.</param>
/// <param name="Index">The category's index, the model's output unit.</param>
/// <param name="Probability">Its softmax probability.</param>
public sealed record Prediction(string Label, long Index, float Probability);

/// <summary>What classifying one file gave: its top classes, or why it could not be classified.</summary>
/// <param name="File">The image file.</param>
/// <param name="Top">The top classes, most probable first; null when <paramref name="Error"/> is set.</param>
/// <param name="Error">Why the file could not be classified (it names the file); null on success.</param>
/// <param name="InternalError">The error is a bug of this library, not a problem of the file.</param>
public sealed record ClassificationResult(string File, IReadOnlyList<Prediction>? Top, string? Error, bool InternalError = false);
