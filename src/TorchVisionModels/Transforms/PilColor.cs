namespace TorchVisionModels.Transforms;

/// <summary>
/// Pillow 9.4's colour operations on RGB images, pixel for pixel: <c>ImageEnhance</c> (a blend of the image with a
/// degenerate one, Blend.c's float32 arithmetic), the grey of <c>convert("L")</c>, the SMOOTH filter, and
/// <c>ImageOps</c>' lookup tables (posterize, solarize, autocontrast, equalize, invert).
/// </summary>
static class PilColor
{
    /// <summary><c>Image.blend(degenerate, image, factor)</c>: interpolation truncates, extrapolation clips.</summary>
    public static RgbImage Blend(RgbImage degenerate, RgbImage image, double factor)
    {
        var alpha = (float)factor;
        var (from, to) = (degenerate.Pixels, image.Pixels);
        var output = new byte[to.Length];
        for (var i = 0; i < output.Length; i++)
        {
            var value = from[i] + alpha * (to[i] - from[i]);
            output[i] = value <= 0f ? (byte)0 : value >= 255f ? (byte)255 : (byte)value;
        }
        return new RgbImage(image.Width, image.Height, output);
    }

    /// <summary>ITU-R 601-2 luma as Convert.c's rgb2l computes it, in 16-bit fixed point.</summary>
    static byte Luma(byte[] pixels, int i) => (byte)((pixels[i] * 19595 + pixels[i + 1] * 38470 + pixels[i + 2] * 7471 + 0x8000) >> 16);

    /// <summary><c>image.convert("L").convert("RGB")</c>: ImageEnhance.Color's degenerate.</summary>
    public static RgbImage Grayscale(RgbImage image)
    {
        var output = new byte[image.Pixels.Length];
        for (var i = 0; i < output.Length; i += 3)
            output[i] = output[i + 1] = output[i + 2] = Luma(image.Pixels, i);
        return new RgbImage(image.Width, image.Height, output);
    }

    /// <summary>ImageEnhance.Contrast's degenerate: every pixel the grey image's mean, rounded as <c>int(mean + 0.5)</c>.</summary>
    public static RgbImage MeanGray(RgbImage image)
    {
        var sum = 0.0;
        for (var i = 0; i < image.Pixels.Length; i += 3)
            sum += Luma(image.Pixels, i);
        var mean = (byte)(int)(sum / (image.Width * image.Height) + 0.5);
        var output = new byte[image.Pixels.Length];
        Array.Fill(output, mean);
        return new RgbImage(image.Width, image.Height, output);
    }

    /// <summary>
    /// ImageFilter.SMOOTH (3x3: 1 1 1 / 1 5 1 / 1 1 1, over 13), ImageEnhance.Sharpness's degenerate: the kernel in
    /// float32 as Filter.c sums it, the border pixels copied; an image under 3x3 is copied whole.
    /// </summary>
    public static RgbImage Smooth(RgbImage image)
    {
        var (width, height, pixels) = (image.Width, image.Height, image.Pixels);
        var output = (byte[])pixels.Clone();
        if (width < 3 || height < 3)
            return new RgbImage(width, height, output);
        var (edge, centre) = (1f / 13f, 5f / 13f);
        for (var y = 1; y < height - 1; y++)
        {
            for (var x = 1; x < width - 1; x++)
            {
                for (var b = 0; b < 3; b++)
                {
                    float Row(int row, float middle)
                    {
                        var i = (row * width + x) * 3 + b;
                        return pixels[i - 3] * edge + pixels[i] * middle + pixels[i + 3] * edge;
                    }
                    var sum = 0.5f;
                    sum += Row(y + 1, edge);
                    sum += Row(y, centre);
                    sum += Row(y - 1, edge);
                    output[(y * width + x) * 3 + b] = sum <= 0f ? (byte)0 : sum >= 255f ? (byte)255 : (byte)sum;
                }
            }
        }
        return new RgbImage(width, height, output);
    }

    /// <summary><c>image.point(lut)</c> with one table per channel (<c>lut[channel][value]</c>), values clipped to a byte.</summary>
    public static RgbImage Point(RgbImage image, int[][] lut)
    {
        var output = new byte[image.Pixels.Length];
        for (var i = 0; i < output.Length; i++)
            output[i] = (byte)Math.Clamp(lut[i % 3][image.Pixels[i]], 0, 255);
        return new RgbImage(image.Width, image.Height, output);
    }

    /// <summary><see cref="Point(RgbImage, int[][])"/> with one table for all channels.</summary>
    public static RgbImage Point(RgbImage image, Func<int, int> lut)
    {
        var table = Enumerable.Range(0, 256).Select(lut).ToArray();
        return Point(image, [table, table, table]);
    }

    /// <summary>Each channel's 256-bin histogram.</summary>
    public static long[][] Histogram(RgbImage image)
    {
        long[][] histogram = [new long[256], new long[256], new long[256]];
        for (var i = 0; i < image.Pixels.Length; i++)
            histogram[i % 3][image.Pixels[i]]++;
        return histogram;
    }

    /// <summary>ImageOps.autocontrast (no cutoff): each channel stretched from its lowest value to its highest.</summary>
    public static RgbImage Autocontrast(RgbImage image)
        => Point(image, [.. Histogram(image).Select(h =>
        {
            var lo = Array.FindIndex(h, c => c != 0);
            var hi = Array.FindLastIndex(h, c => c != 0);
            if (hi <= lo)
                return Enumerable.Range(0, 256).ToArray();
            var scale = 255.0 / (hi - lo);
            var offset = -lo * scale;
            return Enumerable.Range(0, 256).Select(i => Math.Clamp((int)(i * scale + offset), 0, 255)).ToArray();
        })]);

    /// <summary>ImageOps.equalize: each channel's cumulative histogram, in integer steps.</summary>
    public static RgbImage Equalize(RgbImage image)
        => Point(image, [.. Histogram(image).Select(h =>
        {
            var used = h.Where(c => c != 0).ToArray();
            var step = used.Length <= 1 ? 0 : (used.Sum() - used[^1]) / 255;
            if (step == 0)
                return Enumerable.Range(0, 256).ToArray();
            var lut = new int[256];
            var n = step / 2;
            for (var i = 0; i < 256; i++)
            {
                lut[i] = (int)Math.Min(n / step, 255);
                n += h[i];
            }
            return lut;
        })]);
}
