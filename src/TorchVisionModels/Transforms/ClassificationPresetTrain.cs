using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// The training transforms of torchvision's classification reference scripts (<c>presets.ClassificationPresetTrain</c>):
/// <c>RandomResizedCrop(crop_size, scale)</c>, <c>RandomHorizontalFlip(hflip_prob)</c>, then to a tensor normalised by
/// <see cref="mean"/> and <see cref="std"/>. Evaluation uses the weights' <see cref="ImageClassification"/> preset.
/// </summary>
/// <param name="crop_size">The side of the square crop the network sees.</param>
/// <param name="hflip_prob">The probability of a horizontal flip; 0 for none.</param>
public sealed record ClassificationPresetTrain(int crop_size, double hflip_prob = 0.5)
{
    /// <summary>The range of the crop's area as a fraction of the image's, torchvision's (0.08, 1.0) by default.</summary>
    public (double min, double max) scale { get; init; } = (0.08, 1.0);

    /// <summary>The channel means (ImageNet's by default).</summary>
    public float[] mean { get; init; } = ImageClassification.ImageNetMean;

    /// <summary>The channel standard deviations (ImageNet's by default).</summary>
    public float[] std { get; init; } = ImageClassification.ImageNetStd;

    /// <summary>The augmented, normalised tensor [3, crop_size, crop_size]; every random draw comes from <paramref name="generator"/>.</summary>
    public Tensor forward(RgbImage image, Generator generator)
    {
        var cropped = new RandomResizedCrop(crop_size) { scale = scale }.forward(image, generator);
        var flipped = hflip_prob > 0 ? new RandomHorizontalFlip(hflip_prob).forward(cropped, generator) : cropped;
        return ToTensor.Normalized(flipped, mean, std);
    }
}
