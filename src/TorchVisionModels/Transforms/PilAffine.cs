using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// Pillow 9.4's <c>Image.transform(size, AFFINE, matrix, resample)</c> and <c>Image.rotate</c> on RGB images, pixel
/// for pixel (libImaging/Geometry.c): each output pixel's centre mapped through the inverse matrix, sampled by its
/// nearest pixel (16.16 fixed point where Pillow uses it) or bilinearly in double precision; outside is black.
/// </summary>
static class PilAffine
{
    /// <summary>The image through the inverse affine <paramref name="a"/> (output to input coordinates), the same size.</summary>
    public static RgbImage Transform(RgbImage image, double[] a, InterpolationMode interpolation)
    {
        if (interpolation is not (InterpolationMode.Nearest or InterpolationMode.Bilinear or InterpolationMode.Bicubic))
            throw new ArgumentException($"interpolation {interpolation} is not one the augmentations take: Nearest, Bilinear or Bicubic", nameof(interpolation));
        var output = new byte[image.Pixels.Length];
        if (interpolation == InterpolationMode.Bilinear)
            Generic(image, a, output, Bilinear);
        else if (interpolation == InterpolationMode.Bicubic)
            Generic(image, a, output, Bicubic);
        else if (a[1] == 0 && a[3] == 0)
            Scale(image, a, output);
        else if (Corners(image).All(c => FitsFixedPoint(a, c.x, c.y)))
            Fixed(image, a, output);
        else
            Float(image, a, output);
        return new RgbImage(image.Width, image.Height, output);
    }

    /// <summary>
    /// <c>Image.rotate(angle)</c> counter-clockwise about the centre, without expanding: multiples of 90 degrees that
    /// keep the size are exact transposes, as in Pillow; other angles go through <see cref="Transform"/>.
    /// </summary>
    public static RgbImage Rotate(RgbImage image, double angle, InterpolationMode interpolation)
    {
        angle = PythonModulo(angle, 360.0);
        if (angle == 0)
            return new RgbImage(image.Width, image.Height, (byte[])image.Pixels.Clone());
        if (angle == 180 || (angle is 90 or 270 && image.Width == image.Height))
            return Transpose(image, (int)angle);
        var (centerX, centerY) = (image.Width / 2.0, image.Height / 2.0);
        var radians = -(angle * (Math.PI / 180.0));
        // Python's round(x, 15): the shortest decimal at 15 places, read back.
        static double Round15(double x) => double.Parse(x.ToString("F15", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
        double[] a = [Round15(Math.Cos(radians)), Round15(Math.Sin(radians)), 0.0, Round15(-Math.Sin(radians)), Round15(Math.Cos(radians)), 0.0];
        a[2] = a[0] * -centerX + a[1] * -centerY + a[2] + centerX;
        a[5] = a[3] * -centerX + a[4] * -centerY + a[5] + centerY;
        return Transform(image, a, interpolation);
    }

    /// <summary>Python's float modulo: the result has the divisor's sign.</summary>
    static double PythonModulo(double x, double m)
    {
        var r = x % m;
        return r != 0 && (r < 0) != (m < 0) ? r + m : r + 0.0;
    }

    /// <summary>Pillow's ROTATE_90, ROTATE_180 and ROTATE_270 (counter-clockwise).</summary>
    static RgbImage Transpose(RgbImage image, int angle)
    {
        var (w, h) = (image.Width, image.Height);
        var (outWidth, outHeight) = angle == 180 ? (w, h) : (h, w);
        var output = new byte[image.Pixels.Length];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var (ox, oy) = angle switch
                {
                    90 => (y, w - 1 - x),
                    180 => (w - 1 - x, h - 1 - y),
                    _ => (h - 1 - y, x),
                };
                Array.Copy(image.Pixels, (y * w + x) * 3, output, (oy * outWidth + ox) * 3, 3);
            }
        }
        return new RgbImage(outWidth, outHeight, output);
    }

    static (int x, int y)[] Corners(RgbImage image) => [(0, 0), (image.Width, image.Height), (0, image.Height), (image.Width, 0)];

    static bool FitsFixedPoint(double[] a, int x, int y)
        => Math.Abs(x * a[0] + y * a[1] + a[2]) < 32768.0 && Math.Abs(x * a[3] + y * a[4] + a[5]) < 32768.0;

    // Geometry.c's COORD and FLOOR.
    static int Coord(double v) => v < 0.0 ? -1 : (int)v;

    static int Floor(double v) => v < 0.0 ? (int)Math.Floor(v) : (int)v;

    static void Copy(RgbImage image, int inX, int inY, byte[] output, int outIndex)
        => Array.Copy(image.Pixels, (inY * image.Width + inX) * 3, output, outIndex, 3);

    /// <summary>ImagingScaleAffine: no rotation or shear, so each column's source is tabulated once.</summary>
    static void Scale(RgbImage image, double[] a, byte[] output)
    {
        var (width, height) = (image.Width, image.Height);
        var columns = new int[width];
        var (xmin, xmax) = (width, 0);
        var xo = a[2] + a[0] * 0.5;
        var yo = a[5] + a[4] * 0.5;
        for (var x = 0; x < width; x++)
        {
            var xin = Coord(xo);
            if (xin >= 0 && xin < width)
            {
                xmax = x + 1;
                xmin = Math.Min(xmin, x);
                columns[x] = xin;
            }
            xo += a[0];
        }
        for (var y = 0; y < height; y++)
        {
            var yi = Coord(yo);
            if (yi >= 0 && yi < height)
            {
                for (var x = xmin; x < xmax; x++)
                    Copy(image, columns[x], yi, output, (y * width + x) * 3);
            }
            yo += a[4];
        }
    }

    /// <summary>affine_fixed: the nearest pixel in 16.16 fixed point, stepped along rows.</summary>
    static void Fixed(RgbImage image, double[] a, byte[] output)
    {
        static int Fix(double v) => Floor(v * 65536.0 + 0.5);
        var (a0, a1, a3, a4) = (Fix(a[0]), Fix(a[1]), Fix(a[3]), Fix(a[4]));
        var a2 = Fix(a[2] + a[0] * 0.5 + a[1] * 0.5);
        var a5 = Fix(a[5] + a[3] * 0.5 + a[4] * 0.5);
        for (var y = 0; y < image.Height; y++)
        {
            var (xx, yy) = (a2, a5);
            for (var x = 0; x < image.Width; x++)
            {
                var (xin, yin) = (xx >> 16, yy >> 16);
                if (xin >= 0 && xin < image.Width && yin >= 0 && yin < image.Height)
                    Copy(image, xin, yin, output, (y * image.Width + x) * 3);
                xx += a0;
                yy += a3;
            }
            a2 += a1;
            a5 += a4;
        }
    }

    /// <summary>ImagingTransformAffine's floating-point loop, for matrices too large for fixed point.</summary>
    static void Float(RgbImage image, double[] a, byte[] output)
    {
        var xo = a[2] + a[1] * 0.5 + a[0] * 0.5;
        var yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
        for (var y = 0; y < image.Height; y++)
        {
            var (xx, yy) = (xo, yo);
            for (var x = 0; x < image.Width; x++)
            {
                var (xin, yin) = (Coord(xx), Coord(yy));
                if (xin >= 0 && xin < image.Width && yin >= 0 && yin < image.Height)
                    Copy(image, xin, yin, output, (y * image.Width + x) * 3);
                xx += a[0];
                yy += a[3];
            }
            xo += a[1];
            yo += a[4];
        }
    }

    /// <summary>One of Geometry.c's filters: the band <c>b</c> of the pixel at (<c>xin</c>, <c>yin</c>), already inside the image.</summary>
    delegate byte Filter(RgbImage image, double xin, double yin, int b);

    /// <summary>The filters' common head: the input pixel whose centre is at or before the point, and the point's offset from it.</summary>
    static (int x, int y, double dx, double dy) Cell(double xin, double yin)
    {
        var (x, y) = (Floor(xin - 0.5), Floor(yin - 0.5));
        return (x, y, xin - 0.5 - x, yin - 0.5 - y);
    }

    /// <summary>ImagingGenericTransform: each pixel centre mapped to the input, then interpolated there by <paramref name="filter"/> (in double).</summary>
    static void Generic(RgbImage image, double[] a, byte[] output, Filter filter)
    {
        var (width, height) = (image.Width, image.Height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (px, py) = (x + 0.5, y + 0.5);
                var xin = a[0] * px + a[1] * py + a[2];
                var yin = a[3] * px + a[4] * py + a[5];
                // Outside, the filter writes nothing and the fill (zero) stays.
                if (xin < 0.0 || xin >= width || yin < 0.0 || yin >= height)
                    continue;
                for (var b = 0; b < 3; b++)
                    output[(y * width + x) * 3 + b] = filter(image, xin, yin, b);
            }
        }
    }

    /// <summary>bilinear_filter32RGB: two rows, each between two columns; the last row repeats past the edge.</summary>
    static byte Bilinear(RgbImage image, double xin, double yin, int b)
    {
        var (width, height, pixels) = (image.Width, image.Height, image.Pixels);
        var (ix, iy, dx, dy) = Cell(xin, yin);
        var row0 = Math.Clamp(iy, 0, height - 1) * width;
        var (x0, x1) = (Math.Clamp(ix, 0, width - 1), Math.Clamp(ix + 1, 0, width - 1));
        static double Lerp(double from, double to, double d) => from + (to - from) * d;
        var v1 = Lerp(pixels[(row0 + x0) * 3 + b], pixels[(row0 + x1) * 3 + b], dx);
        var v2 = iy + 1 >= 0 && iy + 1 < height ? Lerp(pixels[((iy + 1) * width + x0) * 3 + b], pixels[((iy + 1) * width + x1) * 3 + b], dx) : v1;
        return (byte)Lerp(v1, v2, dy);
    }

    /// <summary>
    /// bicubic_filter32RGB: cubic convolution with a = -1 over four rows of four columns (columns clipped to the
    /// image, rows past the edge repeating the one before), clipped to 0..255 and truncated.
    /// </summary>
    static byte Bicubic(RgbImage image, double xin, double yin, int b)
    {
        var (width, height, pixels) = (image.Width, image.Height, image.Pixels);
        var (ix, iy, dx, dy) = Cell(xin, yin);
        // The four columns and rows start one before the cell.
        ix--;
        iy--;
        static double Cubic(double v1, double v2, double v3, double v4, double d)
        {
            var (p1, p2, p3, p4) = (v2, -v1 + v3, 2 * (v1 - v2) + v3 - v4, -v1 + v2 - v3 + v4);
            return p1 + d * (p2 + d * (p3 + d * p4));
        }
        double Row(int row)
        {
            double At(int column) => pixels[(row * width + Math.Clamp(column, 0, width - 1)) * 3 + b];
            return Cubic(At(ix), At(ix + 1), At(ix + 2), At(ix + 3), dx);
        }
        var r1 = Row(Math.Clamp(iy, 0, height - 1));
        var r2 = iy + 1 >= 0 && iy + 1 < height ? Row(iy + 1) : r1;
        var r3 = iy + 2 >= 0 && iy + 2 < height ? Row(iy + 2) : r2;
        var r4 = iy + 3 >= 0 && iy + 3 < height ? Row(iy + 3) : r3;
        var v = Cubic(r1, r2, r3, r4, dy);
        return v <= 0.0 ? (byte)0 : v >= 255.0 ? (byte)255 : (byte)v;
    }
}
