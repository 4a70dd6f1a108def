using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// One operation of an automatic augmentation and its magnitudes, as torchvision's <c>_augmentation_space</c> lists
/// them: the magnitudes are float32 (torch 1.13's linspace to the bit: see <see cref="Linspace"/>), or
/// none for an operation without one; a signed operation is negated on a coin flip.
/// </summary>
sealed record AugmentationOp(string Name, double[]? Magnitudes, bool Signed)
{
    /// <summary>
    /// <c>torch.linspace(start, end, steps)</c> in float32 as torch 1.13's CPU kernel computes it with its default
    /// (AVX2) build, the parity reference: 8-lane vectors two at a time while 16 values remain, each vector's first
    /// value a fused multiply-add and its lanes that value plus a multiple of the step; then the rest one by one, each
    /// a fused multiply-add, from the start in the first half and from the end in the second. Measured equal on 11
    /// spaces (17 to 64 bins). PyTorch's own values depend on the kernels it runs: libtorch 2.10 here, and PyTorch 2.x
    /// on CPUs with AVX-512, give linspace(0, 32, 31)[15] = 15.999999 instead of 16.0, which <c>int()</c> makes a
    /// translation of 15 pixels instead of 16. Following torch 1.13 everywhere keeps the augmentation the same on
    /// every machine.
    /// </summary>
    internal static double[] Linspace(double start, double end, int steps)
    {
        if (steps == 1)
            return [(float)start];
        var (first, last) = ((float)start, (float)end);
        var step = (last - first) / (steps - 1);
        var halfway = steps / 2;
        float At(int index) => index < halfway ? MathF.FusedMultiplyAdd(step, index, first) : MathF.FusedMultiplyAdd(-step, steps - index - 1, last);
        var values = new float[steps];
        var i = 0;
        for (; i <= steps - 16; i += 16)
        {
            for (var vector = i; vector < i + 16; vector += 8)
            {
                var lane0 = At(vector);
                for (var lane = 0; lane < 8; lane++)
                    values[vector + lane] = lane0 + lane * step;
            }
        }
        for (; i < steps; i++)
            values[i] = At(i);
        return [.. values.Select(v => (double)v)];
    }

    /// <summary><c>most - (arange(bins) / ((bins - 1) / steps)).round().int()</c>: the bits Posterize keeps.</summary>
    static double[] PosterizeBits(int bins, double steps, int most = 8)
    {
        var divisor = (float)((bins - 1) / steps);
        return [.. Enumerable.Range(0, bins).Select(i => (double)(most - (int)MathF.Round(i / divisor, MidpointRounding.ToEven)))];
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

    /// <summary>
    /// AugMix's space for an image of <paramref name="width"/> x <paramref name="height"/>: gentler ranges, Posterize
    /// from 4 bits down, and the colour operations only with <paramref name="allOps"/>.
    /// </summary>
    public static AugmentationOp[] AugMix(int bins, int width, int height, bool allOps) =>
    [
        WithSign("ShearX", 0.3, bins), WithSign("ShearY", 0.3, bins),
        WithSign("TranslateX", width / 3.0, bins), WithSign("TranslateY", height / 3.0, bins),
        WithSign("Rotate", 30.0, bins),
        new("Posterize", PosterizeBits(bins, 4, most: 4), false), new("Solarize", Linspace(255.0, 0.0, bins), false),
        WithoutMagnitude("AutoContrast"), WithoutMagnitude("Equalize"),
        .. allOps ? (AugmentationOp[])[WithSign("Brightness", 0.9, bins), WithSign("Color", 0.9, bins), WithSign("Contrast", 0.9, bins), WithSign("Sharpness", 0.9, bins)] : [],
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
