namespace TorchVisionModels.Transforms;

/// <summary>An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B: PIL's "RGB" mode.</summary>
public sealed class RgbImage
{
    /// <summary>Wraps <paramref name="pixels"/> (not copied), which holds <c>width * height * 3</c> bytes.</summary>
    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width <= 0 || height <= 0 || pixels.Length != (long)width * height * 3)
            throw new ArgumentException($"an RGB image of {width}x{height} needs {(long)width * height * 3} bytes, got {pixels.Length}", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The pixels, <c>(y * Width + x) * 3 + channel</c>.</summary>
    public byte[] Pixels { get; }

    /// <summary>The rectangle at (<paramref name="left"/>, <paramref name="top"/>), like PIL's <c>Image.crop</c>; outside the image is black.</summary>
    public RgbImage Crop(int left, int top, int width, int height)
    {
        var pixels = new byte[(long)width * height * 3];
        for (var y = 0; y < height; y++)
        {
            var sourceY = top + y;
            if (sourceY < 0 || sourceY >= Height)
                continue;
            var from = Math.Max(0, -left);
            var to = Math.Min(width, Width - left);
            if (to > from)
                Array.Copy(Pixels, ((long)sourceY * Width + left + from) * 3, pixels, ((long)y * width + from) * 3, (to - from) * 3);
        }
        return new RgbImage(width, height, pixels);
    }
}
