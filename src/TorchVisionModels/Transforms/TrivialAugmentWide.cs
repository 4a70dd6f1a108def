using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// torchvision's <c>TrivialAugmentWide</c> on a PIL image: one operation drawn uniformly, at a magnitude drawn
/// uniformly from <paramref name="num_magnitude_bins"/>, negated on a coin flip where it is signed. Draws as
/// torchvision does, from <c>generator</c>: the same seed gives the same pixels.
/// </summary>
/// <param name="num_magnitude_bins">The number of magnitudes.</param>
/// <param name="interpolation">How the geometric operations sample.</param>
public sealed record TrivialAugmentWide(int num_magnitude_bins = 31, InterpolationMode interpolation = InterpolationMode.Nearest)
{
    /// <summary><paramref name="img"/>, augmented.</summary>
    public RgbImage forward(RgbImage img, Generator generator)
    {
        var space = AugmentationOp.Wide(num_magnitude_bins);
        var op = space[AugmentationOp.RandInt(space.Length, generator)];
        var magnitude = op.Magnitudes is { } magnitudes ? magnitudes[AugmentationOp.RandInt(magnitudes.Length, generator)] : 0.0;
        if (op.Signed && AugmentationOp.RandInt(2, generator) != 0)
            magnitude *= -1.0;
        return AugmentationOp.Apply(img, op.Name, magnitude, interpolation);
    }
}
