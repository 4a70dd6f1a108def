namespace TorchVisionModels.Datasets;

/// <summary>
/// One of <see cref="Count"/> parts of an input list, chosen by a hash of each path relative to its input root, so the
/// same file always lands in the same part whichever machine lists it, and parts 0..Count-1 cover the list exactly once.
/// </summary>
/// <param name="Index">This part, from 0.</param>
/// <param name="Count">How many parts.</param>
public sealed record Shard(int Index, int Count)
{
    /// <summary>The option <see cref="OfIndexedJob"/>'s refusals name: the count of parts.</summary>
    public const string IndexedJobOption = "Shards";

    /// <summary>The whole list.</summary>
    public static readonly Shard All = new(0, 1);

    /// <summary>Parses <c>K/N</c>: part K of N, 0 &lt;= K &lt; N.</summary>
    /// <exception cref="OptionException">It is not that.</exception>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out var index) && int.TryParse(parts[1], out var count) && count >= 1 && index >= 0 && index < count)
            return new(index, count);
        throw new OptionException(nameof(Shard), text, "must be K/N with N at least 1 and K from 0 to N-1");
    }

    /// <summary>
    /// Part <paramref name="index"/> of <paramref name="count"/>, as a Kubernetes Indexed Job gives each pod its
    /// index in <c>JOB_COMPLETION_INDEX</c>.
    /// </summary>
    /// <exception cref="OptionException">The index is missing, or not from 0 to <paramref name="count"/> - 1.</exception>
    public static Shard OfIndexedJob(int count, string? index)
    {
        if (index is null)
            throw new OptionException(IndexedJobOption, count, "JOB_COMPLETION_INDEX is not set: run as a Kubernetes Indexed Job, or give one part as K/N");
        if (!int.TryParse(index, out var k) || k < 0 || k >= count)
            throw new OptionException(IndexedJobOption, count, $"JOB_COMPLETION_INDEX is {index}, not an index from 0 to {count - 1}");
        return new(k, count);
    }

    /// <summary>Whether the file at <paramref name="relativePath"/> (relative to its input root, '/'-separated) is in this part.</summary>
    public bool Contains(string relativePath)
        => Count == 1 || (int)(PathHash.Of(relativePath) % (ulong)Count) == Index;
}
