using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// One operation of an automatic augmentation and its magnitudes, as torchvision's <c>_augmentation_space</c> lists
/// them: the magnitudes are float32 (built with libtorch's own linspace, so each bin is torchvision's to the bit), or
/// none for an operation without one; a signed operation is negated on a coin flip.
/// </summary>
sealed record AugmentationOp(string Name, double[]? Magnitudes, bool Signed)
{
    static double[] Linspace(double start, double end, int bins)
    {
        using var values = linspace(start, end, bins);
        return [.. values.data<float>().Select(v => (double)v)];
    }

    /// <summary><c>8 - (arange(bins) / ((bins - 1) / steps)).round().int()</c>: the bits Posterize keeps.</summary>
    static double[] PosterizeBits(int bins, double steps)
    {
        using var index = arange(bins);
        using var scaled = index / ((bins - 1) / steps);
        using var rounded = scaled.round();
        return [.. rounded.to(ScalarType.Int32).data<int>().Select(v => (double)(8 - v))];
    }

    static AugmentationOp WithSign(string name, double end, int bins) => new(name, Linspace(0.0, end, bins), true);

    static AugmentationOp WithoutMagnitude(string name) => new(name, null, false);

    /// <summary>AutoAugment's and RandAugment's space for an image of <paramref name="width"/> x <paramref name="height"/>.</summary>
    public static AugmentationOp[] Standard(int bins, int width, int height) =>
    [
        WithSign("ShearX", 0.3, bins), WithSign("ShearY", 0.3, bins),
        WithSign("TranslateX", 150.0 / 331.0 * width, bins), WithSign("TranslateY", 150.0 / 331.0 * height, bins),
        WithSign("Rotate", 30.0, bins), WithSign("Brightness", 0.9, bins), WithSign("Color", 0.9, bins),
        WithSign("Contrast", 0.9, bins), WithSign("Sharpness", 0.9, bins),
        new("Posterize", PosterizeBits(bins, 4), false), new("Solarize", Linspace(255.0, 0.0, bins), false),
        WithoutMagnitude("AutoContrast"), WithoutMagnitude("Equalize"),
    ];

    /// <summary>TrivialAugmentWide's space: wider ranges, the same operations.</summary>
    public static AugmentationOp[] Wide(int bins) =>
    [
        WithoutMagnitude("Identity"),
        WithSign("ShearX", 0.99, bins), WithSign("ShearY", 0.99, bins),
        WithSign("TranslateX", 32.0, bins), WithSign("TranslateY", 32.0, bins),
        WithSign("Rotate", 135.0, bins), WithSign("Brightness", 0.99, bins), WithSign("Color", 0.99, bins),
        WithSign("Contrast", 0.99, bins), WithSign("Sharpness", 0.99, bins),
        new("Posterize", PosterizeBits(bins, 6), false), new("Solarize", Linspace(255.0, 0.0, bins), false),
        WithoutMagnitude("AutoContrast"), WithoutMagnitude("Equalize"),
    ];

    /// <summary>torchvision's <c>_apply_op</c>: the operation <paramref name="name"/> at <paramref name="magnitude"/>.</summary>
    public static RgbImage Apply(RgbImage img, string name, double magnitude, InterpolationMode interpolation)
    {
        const double radToDeg = 180.0 / Math.PI;
        return name switch
        {
            "ShearX" => functional.affine(img, 0.0, [0, 0], 1.0, [Math.Atan(magnitude) * radToDeg, 0.0], interpolation, center: [0, 0]),
            "ShearY" => functional.affine(img, 0.0, [0, 0], 1.0, [0.0, Math.Atan(magnitude) * radToDeg], interpolation, center: [0, 0]),
            "TranslateX" => functional.affine(img, 0.0, [(int)magnitude, 0], 1.0, [0.0, 0.0], interpolation),
            "TranslateY" => functional.affine(img, 0.0, [0, (int)magnitude], 1.0, [0.0, 0.0], interpolation),
            "Rotate" => functional.rotate(img, magnitude, interpolation),
            "Brightness" => functional.adjust_brightness(img, 1.0 + magnitude),
            "Color" => functional.adjust_saturation(img, 1.0 + magnitude),
            "Contrast" => functional.adjust_contrast(img, 1.0 + magnitude),
            "Sharpness" => functional.adjust_sharpness(img, 1.0 + magnitude),
            "Posterize" => functional.posterize(img, (int)magnitude),
            "Solarize" => functional.solarize(img, magnitude),
            "AutoContrast" => functional.autocontrast(img),
            "Equalize" => functional.equalize(img),
            "Invert" => functional.invert(img),
            "Identity" => img,
            _ => throw new ArgumentException($"The provided operator {name} is not recognized.", nameof(name)),
        };
    }

    /// <summary>A draw of <c>torch.randint(high, (1,))</c> from <paramref name="generator"/>.</summary>
    public static int RandInt(int high, Generator generator)
    {
        using var draw = randint(0, high, [1], generator: generator);
        return (int)draw.item<long>();
    }
}
