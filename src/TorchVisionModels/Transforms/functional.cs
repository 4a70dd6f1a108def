using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// torchvision 0.14's <c>transforms.functional</c> on PIL images, the operations the automatic augmentations use: the
/// same arguments give Pillow 9.4's pixels. The area a geometric operation uncovers is black (torchvision's default
/// fill, which train.py keeps).
/// </summary>
public static class functional
{
    /// <summary>
    /// An affine transformation about <paramref name="center"/> (the image's centre by default): rotation by
    /// <paramref name="angle"/> degrees, translation, scale and shear (degrees), as torchvision builds its inverse matrix.
    /// </summary>
    public static RgbImage affine(RgbImage img, double angle, int[] translate, double scale, double[] shear,
        InterpolationMode interpolation = InterpolationMode.Nearest, double[]? center = null)
    {
        center ??= [img.Width * 0.5, img.Height * 0.5];
        return PilAffine.Transform(img, InverseAffineMatrix(center, angle, translate, scale, shear), interpolation);
    }

    /// <summary>torchvision's <c>_get_inverse_affine_matrix</c>: output pixel to input pixel.</summary>
    internal static double[] InverseAffineMatrix(double[] center, double angle, int[] translate, double scale, double[] shear)
    {
        const double degToRad = Math.PI / 180.0;
        var (rot, sx, sy) = (angle * degToRad, shear[0] * degToRad, shear[1] * degToRad);
        var (cx, cy) = (center[0], center[1]);
        var (tx, ty) = ((double)translate[0], (double)translate[1]);
        var a = Math.Cos(rot - sy) / Math.Cos(sy);
        var b = -Math.Cos(rot - sy) * Math.Tan(sx) / Math.Cos(sy) - Math.Sin(rot);
        var c = Math.Sin(rot - sy) / Math.Cos(sy);
        var d = -Math.Sin(rot - sy) * Math.Tan(sx) / Math.Cos(sy) + Math.Cos(rot);
        double[] matrix = [d / scale, -b / scale, 0.0 / scale, -c / scale, a / scale, 0.0 / scale];
        matrix[2] += matrix[0] * (-cx - tx) + matrix[1] * (-cy - ty);
        matrix[5] += matrix[3] * (-cx - tx) + matrix[4] * (-cy - ty);
        matrix[2] += cx;
        matrix[5] += cy;
        return matrix;
    }

    /// <summary>Rotates <paramref name="img"/> by <paramref name="angle"/> degrees counter-clockwise about its centre, keeping its size.</summary>
    public static RgbImage rotate(RgbImage img, double angle, InterpolationMode interpolation = InterpolationMode.Nearest)
        => PilAffine.Rotate(img, angle, interpolation);

    /// <summary>Blends with black: 0 gives black, 1 the image.</summary>
    public static RgbImage adjust_brightness(RgbImage img, double brightness_factor)
        => PilColor.Blend(new RgbImage(img.Width, img.Height, new byte[img.Pixels.Length]), img, brightness_factor);

    /// <summary>Blends with the image's grey: 0 gives grey, 1 the image.</summary>
    public static RgbImage adjust_saturation(RgbImage img, double saturation_factor) => PilColor.Blend(PilColor.Grayscale(img), img, saturation_factor);

    /// <summary>Blends with the grey of the image's mean luma: 0 gives flat grey, 1 the image.</summary>
    public static RgbImage adjust_contrast(RgbImage img, double contrast_factor) => PilColor.Blend(PilColor.MeanGray(img), img, contrast_factor);

    /// <summary>Blends with the image smoothed: 0 gives the smoothed image, 1 the image, 2 a sharpened one.</summary>
    public static RgbImage adjust_sharpness(RgbImage img, double sharpness_factor) => PilColor.Blend(PilColor.Smooth(img), img, sharpness_factor);

    /// <summary>Keeps the <paramref name="bits"/> highest bits of each channel.</summary>
    public static RgbImage posterize(RgbImage img, int bits)
    {
        var mask = ~((1 << (8 - bits)) - 1);
        return PilColor.Point(img, i => i & mask);
    }

    /// <summary>Inverts every channel value at or above <paramref name="threshold"/>.</summary>
    public static RgbImage solarize(RgbImage img, double threshold) => PilColor.Point(img, i => i < threshold ? i : 255 - i);

    /// <summary>Stretches each channel from its lowest value to its highest.</summary>
    public static RgbImage autocontrast(RgbImage img) => PilColor.Autocontrast(img);

    /// <summary>Equalizes each channel's histogram.</summary>
    public static RgbImage equalize(RgbImage img) => PilColor.Equalize(img);

    /// <summary>255 minus every channel value.</summary>
    public static RgbImage invert(RgbImage img) => PilColor.Point(img, i => 255 - i);
}
