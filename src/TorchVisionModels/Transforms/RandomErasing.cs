using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// torchvision's <c>RandomErasing</c> on the normalised tensor, as the reference's training preset applies it last:
/// with probability <paramref name="p"/>, a random rectangle (a fraction <see cref="scale"/> of the area, aspect
/// ratio log-uniform in <see cref="ratio"/>) set to <see cref="value"/>. Draws as torchvision does, from
/// <c>generator</c>; after ten rectangles that do not fit, the image is left as it is.
/// </summary>
/// <param name="p">The probability of erasing.</param>
public sealed record RandomErasing(double p = 0.5)
{
    /// <summary>The range of the rectangle's area as a fraction of the image's.</summary>
    public (double min, double max) scale { get; init; } = (0.02, 0.33);

    /// <summary>The range of the rectangle's aspect ratio (height over width).</summary>
    public (double min, double max) ratio { get; init; } = (0.3, 3.3);

    /// <summary>What the rectangle is set to, in every channel.</summary>
    public float value { get; init; }

    /// <summary>A copy of <paramref name="img"/> [C, H, W], erased or not.</summary>
    public Tensor forward(Tensor img, Generator generator)
    {
        using var draw = rand([1], generator: generator);
        // torchvision compares the float32 draw with p cast to float32.
        if (!(draw.item<float>() < (float)p))
            return img.clone();
        var (top, left, height, width) = get_params(img, scale, ratio, generator);
        var erased = img.clone();
        if (height < img.shape[^2] || width < img.shape[^1])
        {
            using var region = erased[TensorIndex.Ellipsis, TensorIndex.Slice(top, top + height), TensorIndex.Slice(left, left + width)];
            region.fill_(value);
        }
        return erased;
    }

    /// <summary>The rectangle to erase: ten tries at a random one that fits, then the whole image (erased with itself: unchanged).</summary>
    public static (int top, int left, int height, int width) get_params(Tensor img, (double min, double max) scale, (double min, double max) ratio, Generator generator)
    {
        var (img_h, img_w) = ((int)img.shape[^2], (int)img.shape[^1]);
        foreach (var (h, w) in RandomRectangle.Tries(img_h * img_w, scale, ratio, generator))
        {
            if (h < img_h && w < img_w)
            {
                var (top, left) = RandomRectangle.Place(img_h, img_w, h, w, generator);
                return (top, left, h, w);
            }
        }
        return (0, 0, img_h, img_w);
    }
}
