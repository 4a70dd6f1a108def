using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// The classification reference's <c>RandomCutmix</c> (references/classification/transforms.py): with probability
/// <paramref name="p"/>, a rectangle of each image replaced by the same rectangle of the one before it (the batch
/// rolled by one), its size from λ ~ Beta(<paramref name="alpha"/>, <paramref name="alpha"/>) and its centre uniform,
/// and the one-hot targets blended by the area kept. Draws as the reference does, from <c>generator</c>.
/// </summary>
/// <param name="num_classes">Classes, for the one-hot targets.</param>
/// <param name="p">The probability of mixing a batch.</param>
/// <param name="alpha">The Beta distribution's parameter.</param>
public sealed record RandomCutmix(int num_classes, double p = 0.5, double alpha = 1.0)
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
        var batch_rolled = mixed.roll(1, 0);
        var target_rolled = soft.roll(1, 0);
        var lambda_param = BatchMixing.Lambda(alpha, generator);
        var (H, W) = (batch.shape[^2], batch.shape[^1]);
        var r_x = randint(0, W, [1], generator: generator).item<long>();
        var r_y = randint(0, H, [1], generator: generator).item<long>();

        var r = 0.5 * Math.Sqrt(1.0 - lambda_param);
        var r_w_half = (long)(r * W);
        var r_h_half = (long)(r * H);
        var (x1, y1) = (Math.Max(r_x - r_w_half, 0), Math.Max(r_y - r_h_half, 0));
        var (x2, y2) = (Math.Min(r_x + r_w_half, W), Math.Min(r_y + r_h_half, H));

        var (rows, columns) = (TensorIndex.Slice(y1, y2), TensorIndex.Slice(x1, x2));
        mixed[TensorIndex.Colon, TensorIndex.Colon, rows, columns] = batch_rolled[TensorIndex.Colon, TensorIndex.Colon, rows, columns];
        lambda_param = 1.0 - (double)((x2 - x1) * (y2 - y1)) / (W * H);

        target_rolled.mul_(1.0 - lambda_param);
        soft.mul_(lambda_param).add_(target_rolled);
        return (mixed, soft);
    }
}
