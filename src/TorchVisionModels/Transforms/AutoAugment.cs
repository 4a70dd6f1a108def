using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>The datasets whose learned AutoAugment policies torchvision ships.</summary>
public enum AutoAugmentPolicy
{
    /// <summary>The policy learned on ImageNet.</summary>
    IMAGENET,

    /// <summary>The policy learned on CIFAR-10.</summary>
    CIFAR10,

    /// <summary>The policy learned on SVHN.</summary>
    SVHN,
}

/// <summary>
/// torchvision's <c>AutoAugment</c> on a PIL image: one of the policy's 25 sub-policies drawn uniformly, each of its
/// two operations applied with its probability at its magnitude bin (of 10), negated on a coin flip where signed.
/// Draws as torchvision does, from <c>generator</c>.
/// </summary>
/// <param name="policy">The learned policy.</param>
/// <param name="interpolation">How the geometric operations sample.</param>
public sealed record AutoAugment(AutoAugmentPolicy policy = AutoAugmentPolicy.IMAGENET, InterpolationMode interpolation = InterpolationMode.Nearest)
{
    /// <summary>One operation of a sub-policy: its name, its probability, and its magnitude bin (none for an operation without one).</summary>
    internal sealed record Step(string Name, double Probability, int? Magnitude);

    /// <summary><paramref name="img"/>, augmented.</summary>
    public RgbImage forward(RgbImage img, Generator generator)
    {
        var policies = Policies(policy);
        var space = AugmentationOp.Standard(10, img.Width, img.Height);
        var transform_id = AugmentationOp.RandInt(policies.Length, generator);
        using var probs = rand([2], generator: generator);
        using var signs = randint(0, 2, [2], generator: generator);
        var (p, s) = (probs.data<float>().ToArray(), signs.data<long>().ToArray());
        for (var i = 0; i < 2; i++)
        {
            var step = policies[transform_id][i];
            // torchvision compares a float32 draw with the probability, which libtorch casts to float32 too.
            if (!(p[i] <= (float)step.Probability))
                continue;
            var op = space.FirstOrDefault(o => o.Name == step.Name);
            var magnitude = step.Magnitude is { } bin ? op!.Magnitudes![bin] : 0.0;
            if (op is { Signed: true } && s[i] == 0)
                magnitude *= -1.0;
            img = AugmentationOp.Apply(img, step.Name, magnitude, interpolation);
        }
        return img;
    }

    /// <summary>torchvision's sub-policies of <paramref name="policy"/>, in its order.</summary>
    internal static Step[][] Policies(AutoAugmentPolicy policy) => policy switch
    {
        AutoAugmentPolicy.IMAGENET =>
        [
            [new("Posterize", 0.4, 8), new("Rotate", 0.6, 9)],
            [new("Solarize", 0.6, 5), new("AutoContrast", 0.6, null)],
            [new("Equalize", 0.8, null), new("Equalize", 0.6, null)],
            [new("Posterize", 0.6, 7), new("Posterize", 0.6, 6)],
            [new("Equalize", 0.4, null), new("Solarize", 0.2, 4)],
            [new("Equalize", 0.4, null), new("Rotate", 0.8, 8)],
            [new("Solarize", 0.6, 3), new("Equalize", 0.6, null)],
            [new("Posterize", 0.8, 5), new("Equalize", 1.0, null)],
            [new("Rotate", 0.2, 3), new("Solarize", 0.6, 8)],
            [new("Equalize", 0.6, null), new("Posterize", 0.4, 6)],
            [new("Rotate", 0.8, 8), new("Color", 0.4, 0)],
            [new("Rotate", 0.4, 9), new("Equalize", 0.6, null)],
            [new("Equalize", 0.0, null), new("Equalize", 0.8, null)],
            [new("Invert", 0.6, null), new("Equalize", 1.0, null)],
            [new("Color", 0.6, 4), new("Contrast", 1.0, 8)],
            [new("Rotate", 0.8, 8), new("Color", 1.0, 2)],
            [new("Color", 0.8, 8), new("Solarize", 0.8, 7)],
            [new("Sharpness", 0.4, 7), new("Invert", 0.6, null)],
            [new("ShearX", 0.6, 5), new("Equalize", 1.0, null)],
            [new("Color", 0.4, 0), new("Equalize", 0.6, null)],
            [new("Equalize", 0.4, null), new("Solarize", 0.2, 4)],
            [new("Solarize", 0.6, 5), new("AutoContrast", 0.6, null)],
            [new("Invert", 0.6, null), new("Equalize", 1.0, null)],
            [new("Color", 0.6, 4), new("Contrast", 1.0, 8)],
            [new("Equalize", 0.8, null), new("Equalize", 0.6, null)],
        ],
        AutoAugmentPolicy.CIFAR10 =>
        [
            [new("Invert", 0.1, null), new("Contrast", 0.2, 6)],
            [new("Rotate", 0.7, 2), new("TranslateX", 0.3, 9)],
            [new("Sharpness", 0.8, 1), new("Sharpness", 0.9, 3)],
            [new("ShearY", 0.5, 8), new("TranslateY", 0.7, 9)],
            [new("AutoContrast", 0.5, null), new("Equalize", 0.9, null)],
            [new("ShearY", 0.2, 7), new("Posterize", 0.3, 7)],
            [new("Color", 0.4, 3), new("Brightness", 0.6, 7)],
            [new("Sharpness", 0.3, 9), new("Brightness", 0.7, 9)],
            [new("Equalize", 0.6, null), new("Equalize", 0.5, null)],
            [new("Contrast", 0.6, 7), new("Sharpness", 0.6, 5)],
            [new("Color", 0.7, 7), new("TranslateX", 0.5, 8)],
            [new("Equalize", 0.3, null), new("AutoContrast", 0.4, null)],
            [new("TranslateY", 0.4, 3), new("Sharpness", 0.2, 6)],
            [new("Brightness", 0.9, 6), new("Color", 0.2, 8)],
            [new("Solarize", 0.5, 2), new("Invert", 0.0, null)],
            [new("Equalize", 0.2, null), new("AutoContrast", 0.6, null)],
            [new("Equalize", 0.2, null), new("Equalize", 0.6, null)],
            [new("Color", 0.9, 9), new("Equalize", 0.6, null)],
            [new("AutoContrast", 0.8, null), new("Solarize", 0.2, 8)],
            [new("Brightness", 0.1, 3), new("Color", 0.7, 0)],
            [new("Solarize", 0.4, 5), new("AutoContrast", 0.9, null)],
            [new("TranslateY", 0.9, 9), new("TranslateY", 0.7, 9)],
            [new("AutoContrast", 0.9, null), new("Solarize", 0.8, 3)],
            [new("Equalize", 0.8, null), new("Invert", 0.1, null)],
            [new("TranslateY", 0.7, 9), new("AutoContrast", 0.9, null)],
        ],
        AutoAugmentPolicy.SVHN =>
        [
            [new("ShearX", 0.9, 4), new("Invert", 0.2, null)],
            [new("ShearY", 0.9, 8), new("Invert", 0.7, null)],
            [new("Equalize", 0.6, null), new("Solarize", 0.6, 6)],
            [new("Invert", 0.9, null), new("Equalize", 0.6, null)],
            [new("Equalize", 0.6, null), new("Rotate", 0.9, 3)],
            [new("ShearX", 0.9, 4), new("AutoContrast", 0.8, null)],
            [new("ShearY", 0.9, 8), new("Invert", 0.4, null)],
            [new("ShearY", 0.9, 5), new("Solarize", 0.2, 6)],
            [new("Invert", 0.9, null), new("AutoContrast", 0.8, null)],
            [new("Equalize", 0.6, null), new("Rotate", 0.9, 3)],
            [new("ShearX", 0.9, 4), new("Solarize", 0.3, 3)],
            [new("ShearY", 0.8, 8), new("Invert", 0.7, null)],
            [new("Equalize", 0.9, null), new("TranslateY", 0.6, 6)],
            [new("Invert", 0.9, null), new("Equalize", 0.6, null)],
            [new("Contrast", 0.3, 3), new("Rotate", 0.8, 4)],
            [new("Invert", 0.8, null), new("TranslateY", 0.0, 2)],
            [new("ShearY", 0.7, 6), new("Solarize", 0.4, 8)],
            [new("Invert", 0.6, null), new("Rotate", 0.8, 4)],
            [new("ShearY", 0.3, 7), new("TranslateX", 0.9, 3)],
            [new("ShearX", 0.1, 6), new("Invert", 0.6, null)],
            [new("Solarize", 0.7, 2), new("TranslateY", 0.6, 7)],
            [new("ShearY", 0.8, 4), new("Invert", 0.8, null)],
            [new("ShearX", 0.7, 9), new("TranslateY", 0.8, 3)],
            [new("ShearY", 0.8, 5), new("AutoContrast", 0.7, null)],
            [new("ShearX", 0.7, 2), new("Invert", 0.1, null)],
        ],
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, "not a policy torchvision ships"),
    };
}
