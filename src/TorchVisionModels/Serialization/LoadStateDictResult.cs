namespace TorchVisionModels.Serialization;

/// <summary>A state dict key whose tensor has another shape in the file than in the model.</summary>
/// <param name="Key">The state dict key.</param>
/// <param name="Expected">The model's shape.</param>
/// <param name="Found">The file's shape.</param>
public sealed record ShapeMismatch(string Key, long[] Expected, long[] Found);

/// <summary>
/// What a load left out, like PyTorch's <c>_IncompatibleKeys(missing_keys, unexpected_keys)</c>, plus the shape
/// mismatches PyTorch raises for. A non-strict load returns it; a strict one throws when it is not empty.
/// </summary>
/// <param name="missing_keys">Keys of the model that the file does not have: left as they were.</param>
/// <param name="unexpected_keys">Keys in the file that the model does not have: ignored.</param>
/// <param name="MismatchedShapes">Keys both have with different shapes: left as they were.</param>
public sealed record LoadStateDictResult(IReadOnlyList<string> missing_keys, IReadOnlyList<string> unexpected_keys, IReadOnlyList<ShapeMismatch> MismatchedShapes)
{
    /// <summary>True when every key of the model was loaded and every key of the file was used.</summary>
    public bool IsComplete => missing_keys.Count == 0 && unexpected_keys.Count == 0 && MismatchedShapes.Count == 0;

    /// <summary>PyTorch's wording: <c>Missing key(s) in state_dict: "fc.weight", ...</c>, one line per kind.</summary>
    public override string ToString()
    {
        var lines = new List<string>();
        if (missing_keys.Count > 0)
            lines.Add($"Missing key(s) in state_dict: {string.Join(", ", missing_keys.Select(k => $"\"{k}\""))}.");
        if (unexpected_keys.Count > 0)
            lines.Add($"Unexpected key(s) in state_dict: {string.Join(", ", unexpected_keys.Select(k => $"\"{k}\""))}.");
        foreach (var m in MismatchedShapes)
            lines.Add($"size mismatch for {m.Key}: copying a param with shape [{string.Join(", ", m.Found)}] from checkpoint, the shape in current model is [{string.Join(", ", m.Expected)}].");
        return string.Join(Environment.NewLine, lines);
    }
}
