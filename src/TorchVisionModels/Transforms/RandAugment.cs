using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// torchvision's <c>RandAugment</c> on a PIL image: <paramref name="num_ops"/> operations drawn uniformly, each at
/// bin <paramref name="magnitude"/> of <paramref name="num_magnitude_bins"/>, negated on a coin flip where signed.
/// Draws as torchvision does, from <c>generator</c>.
/// </summary>
/// <param name="num_ops">Operations applied in turn.</param>
/// <param name="magnitude">The magnitude bin of every operation.</param>
/// <param name="num_magnitude_bins">The number of magnitudes.</param>
/// <param name="interpolation">How the geometric operations sample.</param>
public sealed record RandAugment(int num_ops = 2, int magnitude = 9, int num_magnitude_bins = 31, InterpolationMode interpolation = InterpolationMode.Nearest)
{
    /// <summary><paramref name="img"/>, augmented.</summary>
    public RgbImage forward(RgbImage img, Generator generator)
    {
        AugmentationOp[] space = [new("Identity", null, false), .. AugmentationOp.Standard(num_magnitude_bins, img.Width, img.Height)];
        for (var i = 0; i < num_ops; i++)
        {
            var op = space[AugmentationOp.RandInt(space.Length, generator)];
            var value = op.Magnitudes is { } magnitudes ? magnitudes[magnitude] : 0.0;
            if (op.Signed && AugmentationOp.RandInt(2, generator) != 0)
                value *= -1.0;
            img = AugmentationOp.Apply(img, op.Name, value, interpolation);
        }
        return img;
    }
}
