using static TorchSharp.torch;

namespace TorchVisionModels.Datasets;

/// <summary>
/// <c>torch.utils.data.random_split</c> of a dataset's indices into training and validation: a seeded
/// <c>torch.randperm</c>, the first part for training, so PyTorch with the same seed splits the same way.
/// </summary>
public static class RandomSplit
{
    /// <summary>The indices 0..<paramref name="count"/>-1, split with <paramref name="validationFraction"/> of them (rounded) for validation.</summary>
    /// <exception cref="ArgumentException">Either part would be empty.</exception>
    public static (IReadOnlyList<int> train, IReadOnlyList<int> validation) Indices(int count, double validationFraction, ulong seed)
    {
        var validationCount = (int)Math.Round(count * validationFraction);
        if (validationCount < 1 || validationCount >= count)
            throw new ArgumentException($"A validation fraction of {validationFraction} of {count} images leaves {count - validationCount} for training and {validationCount} for validation; both need at least one.");
        using var generator = new Generator(seed);
        using var permutation = randperm(count, generator: generator);
        var order = permutation.data<long>().Select(i => (int)i).ToList();
        return (order[..(count - validationCount)], order[(count - validationCount)..]);
    }
}
