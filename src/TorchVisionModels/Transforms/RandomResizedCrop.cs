using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// torchvision's <c>RandomResizedCrop</c> on a PIL image: a random area (a fraction <see cref="scale"/> of the image)
/// with a random aspect ratio (log-uniform in <see cref="ratio"/>), resized to <see cref="size"/> squared with PIL's
/// <see cref="interpolation"/> (bilinear unless given). Draws its random numbers as torchvision does, from <c>generator</c>: the same seed crops the same.
/// </summary>
/// <param name="size">The output's width and height.</param>
public sealed record RandomResizedCrop(int size)
{
    /// <summary>The range of the crop's area as a fraction of the image's.</summary>
    public (double min, double max) scale { get; init; } = (0.08, 1.0);

    /// <summary>The range of the crop's aspect ratio (width over height).</summary>
    public (double min, double max) ratio { get; init; } = (3.0 / 4.0, 4.0 / 3.0);

    /// <summary>PIL's resampling filter: Bilinear (torchvision's default) or Bicubic (<see cref="PilResample.Interpolations"/>).</summary>
    public InterpolationMode interpolation { get; init; } = InterpolationMode.Bilinear;

    /// <summary>The crop for an image of <paramref name="width"/> x <paramref name="height"/>: ten tries at a random one, then the central crop.</summary>
    public static (int top, int left, int height, int width) get_params(
        int width, int height, (double min, double max) scale, (double min, double max) ratio, Generator generator)
    {
        foreach (var (w, h) in RandomRectangle.Tries((double)height * width, scale, ratio, generator))
        {
            if (0 < w && w <= width && 0 < h && h <= height)
            {
                var (top, left) = RandomRectangle.Place(height, width, h, w, generator);
                return (top, left, h, w);
            }
        }

        // Fallback to a central crop.
        var in_ratio = (double)width / height;
        var (cropWidth, cropHeight) = in_ratio < Math.Min(ratio.min, ratio.max)
            ? (width, (int)Math.Round(width / Math.Min(ratio.min, ratio.max), MidpointRounding.ToEven))
            : in_ratio > Math.Max(ratio.min, ratio.max)
                ? ((int)Math.Round(height * Math.Max(ratio.min, ratio.max), MidpointRounding.ToEven), height)
                : (width, height);
        return ((height - cropHeight) / 2, (width - cropWidth) / 2, cropHeight, cropWidth);
    }

    /// <summary>A random crop of <paramref name="image"/>, resized to <see cref="size"/> x <see cref="size"/>.</summary>
    public RgbImage forward(RgbImage image, Generator generator)
    {
        var (top, left, height, width) = get_params(image.Width, image.Height, scale, ratio, generator);
        var cropped = image.Crop(left, top, width, height);
        return (width, height) == (size, size) ? cropped : PilResample.Resize(cropped, size, size, interpolation);
    }
}
