using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>torchvision's <c>RandomHorizontalFlip</c>: mirrors the image left to right with probability <paramref name="p"/>, drawn from <c>generator</c>.</summary>
/// <param name="p">The probability of flipping.</param>
public sealed record RandomHorizontalFlip(double p = 0.5)
{
    /// <summary><paramref name="image"/>, flipped or not.</summary>
    public RgbImage forward(RgbImage image, Generator generator)
    {
        using var draw = rand([1], generator: generator);
        return draw.item<float>() < p ? hflip(image) : image;
    }

    /// <summary>The mirror image, left to right.</summary>
    public static RgbImage hflip(RgbImage image)
    {
        var pixels = new byte[image.Pixels.Length];
        for (var y = 0; y < image.Height; y++)
        {
            var row = y * image.Width * 3;
            for (var x = 0; x < image.Width; x++)
                Array.Copy(image.Pixels, row + x * 3, pixels, row + (image.Width - 1 - x) * 3, 3);
        }
        return new RgbImage(image.Width, image.Height, pixels);
    }
}
