using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// The training transforms of torchvision's classification reference scripts (<c>presets.ClassificationPresetTrain</c>):
/// <c>RandomResizedCrop(crop_size, scale)</c>, <c>RandomHorizontalFlip(hflip_prob)</c>, the automatic augmentation of
/// <see cref="auto_augment_policy"/>, both with <see cref="interpolation"/> (bilinear, train.py's default
/// <c>--interpolation</c>, or bicubic), then to a tensor
/// normalised by <see cref="mean"/> and <see cref="std"/>, and <c>RandomErasing(random_erase_prob)</c>. Evaluation
/// uses the weights' <see cref="ImageClassification"/> preset.
/// </summary>
/// <param name="crop_size">The side of the square crop the network sees.</param>
/// <param name="hflip_prob">The probability of a horizontal flip; 0 for none.</param>
public sealed record ClassificationPresetTrain(int crop_size, double hflip_prob = 0.5)
{
    /// <summary>The values of <see cref="auto_augment_policy"/>: RandAugment, TrivialAugmentWide, and AutoAugment's policies.</summary>
    public static readonly IReadOnlyList<string> AutoAugmentPolicies = ["ra", "ta_wide", "augmix", "imagenet", "cifar10", "svhn"];

    /// <summary>The range of the crop's area as a fraction of the image's, torchvision's (0.08, 1.0) by default.</summary>
    public (double min, double max) scale { get; init; } = (0.08, 1.0);

    /// <summary>PIL's filter for the crop's resize and the augmentations' geometry: Bilinear (train.py's default) or Bicubic.</summary>
    /// <exception cref="ArgumentException">Another interpolation.</exception>
    public InterpolationMode interpolation
    {
        get;
        init => field = PilResample.Interpolations.Contains(value) ? value
            : throw new ArgumentException($"interpolation {value} is not one the preset implements: Bilinear or Bicubic", nameof(value));
    } = InterpolationMode.Bilinear;

    /// <summary>The channel means (ImageNet's by default).</summary>
    public float[] mean { get; init; } = ImageClassification.ImageNetMean;

    /// <summary>The channel standard deviations (ImageNet's by default).</summary>
    public float[] std { get; init; } = ImageClassification.ImageNetStd;

    /// <summary>The order the network takes the channels in (<see cref="ChannelOrders"/>): RGB unless given.</summary>
    public string ChannelOrder { get; init; } = ChannelOrders.Rgb;

    /// <summary>A mean per pixel subtracted after <see cref="mean"/>, as <see cref="ImageClassification.MeanImage"/>; null for none.</summary>
    public float[]? MeanImage { get; init; }

    /// <summary>One of <see cref="AutoAugmentPolicies"/>, or null for none.</summary>
    public string? auto_augment_policy
    {
        get;
        init => field = value is null || AutoAugmentPolicies.Contains(value)
            ? value
            : throw new ArgumentException($"auto_augment_policy {value} is not one of {string.Join(", ", AutoAugmentPolicies)}", nameof(value));
    }

    /// <summary>RandAugment's magnitude bin, with <see cref="auto_augment_policy"/> <c>ra</c>.</summary>
    public int ra_magnitude { get; init; } = 9;

    /// <summary>AugMix's severity, with <see cref="auto_augment_policy"/> <c>augmix</c>.</summary>
    public int augmix_severity { get; init; } = 3;

    /// <summary>The probability of <see cref="RandomErasing"/> on the normalised tensor; 0 for none.</summary>
    public double random_erase_prob { get; init; }

    /// <summary>The augmented, normalised tensor [3, crop_size, crop_size]; every random draw comes from <paramref name="generator"/>.</summary>
    public Tensor forward(RgbImage image, Generator generator)
    {
        var cropped = new RandomResizedCrop(crop_size) { scale = scale, interpolation = interpolation }.forward(image, generator);
        var flipped = hflip_prob > 0 ? new RandomHorizontalFlip(hflip_prob).forward(cropped, generator) : cropped;
        var augmented = Augment(flipped, generator);
        var normalized = ToTensor.Normalized(augmented, mean, std, ChannelOrder, MeanImage);
        if (random_erase_prob <= 0)
            return normalized;
        using (normalized)
            return new RandomErasing(random_erase_prob).forward(normalized, generator);
    }

    RgbImage Augment(RgbImage image, Generator generator) => auto_augment_policy switch
    {
        null => image,
        "ra" => new RandAugment(magnitude: ra_magnitude, interpolation: interpolation).forward(image, generator),
        "ta_wide" => new TrivialAugmentWide(interpolation: interpolation).forward(image, generator),
        "augmix" => new AugMix(severity: augmix_severity, interpolation: interpolation).forward(image, generator),
        var policy => new AutoAugment(Enum.Parse<AutoAugmentPolicy>(policy, ignoreCase: true), interpolation).forward(image, generator),
    };
}
