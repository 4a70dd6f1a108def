using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// Pillow's <c>Image.resize(size, Image.BILINEAR)</c> and <c>Image.BICUBIC</c>, bit for bit, as documented in
/// Pillow's Resample.c: a triangle (bilinear) or cubic convolution (bicubic, a = -0.5) filter whose support widens by
/// the downscaling factor (so it antialiases), coefficients normalised and then rounded to 22-bit fixed point, a
/// horizontal pass to 8 bits, then a vertical pass, each rounded and clipped. Neither ImageSharp's resampler nor
/// libtorch's antialiased interpolate matches it exactly: both are about one grey level off on real photos, enough to
/// change a borderline top-5.
/// </summary>
public static class PilResample
{
    const int PrecisionBits = 32 - 8 - 2;

    /// <summary>The interpolations implemented: torchvision's presets take either.</summary>
    public static readonly IReadOnlyList<InterpolationMode> Interpolations = [InterpolationMode.Bilinear, InterpolationMode.Bicubic];

    /// <summary>Resizes <paramref name="image"/> to <paramref name="width"/> x <paramref name="height"/>.</summary>
    /// <exception cref="ArgumentException">The interpolation is not one of <see cref="Interpolations"/>.</exception>
    public static RgbImage Resize(RgbImage image, int width, int height, InterpolationMode interpolation = InterpolationMode.Bilinear)
        => ResizeCrop(image, width, height, 0, 0, width, height, interpolation);

    /// <summary>
    /// The <paramref name="cropWidth"/> x <paramref name="cropHeight"/> rectangle at (<paramref name="left"/>,
    /// <paramref name="top"/>) of <see cref="Resize"/>'s output, computed alone: each output pixel depends only on
    /// its own coefficients, so this equals resizing the whole image and cropping, bit for bit, in memory that grows
    /// with the rectangle, not with the resized image (a 100000x1 strip resized to 256 high would be 19 GB).
    /// </summary>
    /// <exception cref="ArgumentException">The interpolation is not one of <see cref="Interpolations"/>.</exception>
    public static RgbImage ResizeCrop(RgbImage image, int width, int height, int left, int top, int cropWidth, int cropHeight,
        InterpolationMode interpolation = InterpolationMode.Bilinear)
    {
        var filter = interpolation switch
        {
            InterpolationMode.Bilinear => Bilinear,
            InterpolationMode.Bicubic => Bicubic,
            _ => throw new ArgumentException($"interpolation {interpolation} is not one Pillow's resampling here implements: Bilinear or Bicubic", nameof(interpolation)),
        };
        if (left < 0 || top < 0 || cropWidth < 1 || cropHeight < 1 || left + cropWidth > width || top + cropHeight > height)
            throw new ArgumentOutOfRangeException(nameof(left), $"The rectangle {cropWidth}x{cropHeight} at ({left}, {top}) is not inside {width}x{height}.");
        var needHorizontal = width != image.Width;
        var needVertical = height != image.Height;

        // Only the source rows the vertical pass reads go through the horizontal pass.
        var (firstRow, rows) = (top, cropHeight);
        var (verticalBounds, verticalKernel, verticalSize) = needVertical ? Coefficients(image.Height, height, top, cropHeight, filter) : default;
        if (needVertical)
        {
            firstRow = verticalBounds[0];
            rows = verticalBounds[cropHeight * 2 - 2] + verticalBounds[cropHeight * 2 - 1] - firstRow;
            for (var i = 0; i < cropHeight; i++)
                verticalBounds[i * 2] -= firstRow;
        }
        RgbImage result;
        if (needHorizontal)
        {
            var (horizontalBounds, horizontalKernel, horizontalSize) = Coefficients(image.Width, width, left, cropWidth, filter);
            result = Horizontal(image, firstRow, rows, cropWidth, horizontalBounds, horizontalKernel, horizontalSize);
        }
        else
        {
            result = image.Crop(left, firstRow, cropWidth, rows);
        }
        return needVertical ? Vertical(result, cropHeight, verticalBounds!, verticalKernel!, verticalSize) : result;
    }

    /// <summary>One of Resample.c's filters: its function and its support at scale 1.</summary>
    sealed record ResampleFilter(Func<double, double> Function, double Support);

    static readonly ResampleFilter Bilinear = new(x =>
    {
        x = Math.Abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    }, 1.0);

    // Resample.c's bicubic_filter: cubic convolution with a = -0.5 (Geometry.c's transforms use a = -1).
    static readonly ResampleFilter Bicubic = new(x =>
    {
        const double A = -0.5;
        x = Math.Abs(x);
        return x < 1.0 ? ((A + 2.0) * x - (A + 3.0)) * x * x + 1
            : x < 2.0 ? (((x - 5) * x + 8) * x - 4) * A
            : 0.0;
    }, 2.0);

    /// <summary>Pillow's precompute_coeffs and normalize_coeffs_8bpc, for the <paramref name="count"/> outputs from <paramref name="first"/>.</summary>
    static (int[] bounds, int[] kernel, int size) Coefficients(int inSize, int outSize, int first, int count, ResampleFilter filter)
    {
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = filter.Support * filterScale;
        var size = (int)Math.Ceiling(support) * 2 + 1;
        var weights = new double[(long)count * size];
        var bounds = new int[count * 2];
        for (var i = 0; i < count; i++)
        {
            var xx = first + i;
            var center = (xx + 0.5) * scale;
            var total = 0.0;
            var inverse = 1.0 / filterScale;
            var min = Math.Max((int)(center - support + 0.5), 0);
            var max = Math.Min((int)(center + support + 0.5), inSize) - min;
            for (var x = 0; x < max; x++)
            {
                var w = filter.Function((x + min - center + 0.5) * inverse);
                weights[(long)i * size + x] = w;
                total += w;
            }
            if (total != 0.0)
            {
                for (var x = 0; x < max; x++)
                    weights[(long)i * size + x] /= total;
            }
            bounds[i * 2] = min;
            bounds[i * 2 + 1] = max;
        }

        var kernel = new int[weights.Length];
        for (var i = 0; i < weights.Length; i++)
            kernel[i] = (int)(weights[i] < 0 ? -0.5 + weights[i] * (1 << PrecisionBits) : 0.5 + weights[i] * (1 << PrecisionBits));
        return (bounds, kernel, size);
    }

    /// <summary>Rows in parallel for photo-sized outputs; in sequence for small ones, where scheduling would cost more than it saves.</summary>
    static void ForEachRow(int rows, long pixels, Action<int> row)
    {
        if (pixels < 65536)
        {
            for (var y = 0; y < rows; y++)
                row(y);
        }
        else
        {
            Parallel.For(0, rows, row);
        }
    }

    static byte Clip8(int value) => (byte)Math.Clamp(value >> PrecisionBits, 0, 255);

    static RgbImage Horizontal(RgbImage image, int offset, int rows, int width, int[] bounds, int[] kernel, int size)
    {
        var input = image.Pixels;
        var output = new byte[(long)width * rows * 3];
        ForEachRow(rows, (long)rows * width, y =>
        {
            var row = (long)(y + offset) * image.Width * 3;
            for (var xx = 0; xx < width; xx++)
            {
                var min = bounds[xx * 2];
                var max = bounds[xx * 2 + 1];
                int r = 1 << (PrecisionBits - 1), g = r, b = r;
                for (var x = 0; x < max; x++)
                {
                    var k = kernel[xx * size + x];
                    var p = row + (x + min) * 3;
                    r += input[p] * k;
                    g += input[p + 1] * k;
                    b += input[p + 2] * k;
                }
                var o = ((long)y * width + xx) * 3;
                output[o] = Clip8(r);
                output[o + 1] = Clip8(g);
                output[o + 2] = Clip8(b);
            }
        });
        return new RgbImage(width, rows, output);
    }

    static RgbImage Vertical(RgbImage image, int height, int[] bounds, int[] kernel, int size)
    {
        var input = image.Pixels;
        var width = image.Width;
        var output = new byte[(long)width * height * 3];
        ForEachRow(height, (long)height * width, yy =>
        {
            var min = bounds[yy * 2];
            var max = bounds[yy * 2 + 1];
            for (var xx = 0; xx < width; xx++)
            {
                int r = 1 << (PrecisionBits - 1), g = r, b = r;
                for (var y = 0; y < max; y++)
                {
                    var k = kernel[yy * size + y];
                    var p = ((long)(y + min) * width + xx) * 3;
                    r += input[p] * k;
                    g += input[p + 1] * k;
                    b += input[p + 2] * k;
                }
                var o = ((long)yy * width + xx) * 3;
                output[o] = Clip8(r);
                output[o + 1] = Clip8(g);
                output[o + 2] = Clip8(b);
            }
        });
        return new RgbImage(width, height, output);
    }
}
