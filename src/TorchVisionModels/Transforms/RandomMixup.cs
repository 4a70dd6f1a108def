using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// The classification reference's <c>RandomMixup</c> (references/classification/transforms.py): with probability
/// <paramref name="p"/>, each image of a batch blended with the one before it (the batch rolled by one) at a weight
/// λ ~ Beta(<paramref name="alpha"/>, <paramref name="alpha"/>), and the one-hot targets blended alike. Draws as the
/// reference does, from <c>generator</c>.
/// </summary>
/// <param name="num_classes">Classes, for the one-hot targets.</param>
/// <param name="p">The probability of mixing a batch.</param>
/// <param name="alpha">The Beta distribution's parameter.</param>
public sealed record RandomMixup(int num_classes, double p = 0.5, double alpha = 1.0)
{
    /// <summary>The mixed batch [B, C, H, W] and its soft targets [B, num_classes] (new tensors).</summary>
    /// <param name="batch">Float images.</param>
    /// <param name="target">int64 class indices [B].</param>
    /// <param name="generator">The source of every draw.</param>
    public (Tensor batch, Tensor target) forward(Tensor batch, Tensor target, Generator generator)
    {
        var (mixed, soft) = BatchMixing.Start(batch, target, num_classes);
        if (!BatchMixing.Applies(p, generator))
            return (mixed, soft);
        using var scope = NewDisposeScope();
        var lambda_param = BatchMixing.Lambda(alpha, generator);
        var batch_rolled = mixed.roll(1, 0);
        var target_rolled = soft.roll(1, 0);
        batch_rolled.mul_(1.0 - lambda_param);
        mixed.mul_(lambda_param).add_(batch_rolled);
        target_rolled.mul_(1.0 - lambda_param);
        soft.mul_(lambda_param).add_(target_rolled);
        return (mixed, soft);
    }
}
