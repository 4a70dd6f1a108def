using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// torchvision's <c>AugMix</c> (https://arxiv.org/abs/1912.02781) on a PIL image: <paramref name="mixture_width"/>
/// chains of 1 to 3 operations (or <paramref name="chain_depth"/>) at magnitudes up to <paramref name="severity"/>,
/// mixed with Dirichlet weights, then mixed with the image by a Beta(<paramref name="alpha"/>, <paramref name="alpha"/>)
/// weight. As in torchvision, the image becomes a uint8 tensor first and the operations run on tensors
/// (<see cref="TensorOps"/>), not on Pillow's pixels. Draws as torchvision does, from <c>generator</c>.
/// </summary>
/// <param name="severity">The magnitude bins drawn from, of 10 (1 to 10).</param>
/// <param name="mixture_width">The number of chains.</param>
/// <param name="chain_depth">Operations per chain; 0 or less for a random depth from 1 to 3.</param>
/// <param name="alpha">The Dirichlet and Beta concentration.</param>
/// <param name="all_ops">Also the colour operations (brightness, colour, contrast, sharpness).</param>
/// <param name="interpolation">How the geometric operations sample: Bilinear (torchvision's default) or Nearest.</param>
public sealed record AugMix(int severity = 3, int mixture_width = 3, int chain_depth = -1, double alpha = 1.0, bool all_ops = true,
    InterpolationMode interpolation = InterpolationMode.Bilinear)
{
    const int ParameterMax = 10;

    /// <summary>The magnitude bins drawn from, of 10.</summary>
    /// <exception cref="ArgumentException">Not from 1 to 10 (torchvision's message).</exception>
    public int severity { get; init; } = severity is >= 1 and <= ParameterMax ? severity
        : throw new ArgumentException($"The severity must be between [1, {ParameterMax}]. Got {severity} instead.", nameof(severity));

    /// <summary>How the geometric operations sample.</summary>
    /// <exception cref="ArgumentException">Neither Nearest nor Bilinear: torchvision's tensor transforms take no other.</exception>
    public InterpolationMode interpolation { get; init; } = interpolation is InterpolationMode.Nearest or InterpolationMode.Bilinear ? interpolation
        : throw new ArgumentException($"interpolation {interpolation} is not one torchvision's tensor transforms take: Nearest or Bilinear", nameof(interpolation));

    /// <summary><paramref name="orig_img"/>, augmented and mixed.</summary>
    public RgbImage forward(RgbImage orig_img, Generator generator)
    {
        using var scope = NewDisposeScope();
        var batch = tensor(orig_img.Pixels, [1, orig_img.Height, orig_img.Width, 3]).permute(0, 3, 1, 2);
        var space = AugmentationOp.AugMix(ParameterMax, orig_img.Width, orig_img.Height, all_ops);

        // A Beta weight for the image against the chains (a two-way Dirichlet), then the chains' weights.
        var m = _sample_dirichlet(tensor(new[] { (float)alpha, (float)alpha }).expand(1, -1), generator);
        var combined = _sample_dirichlet(tensor(Enumerable.Repeat((float)alpha, mixture_width).ToArray()).expand(1, -1), generator)
            .mul(m[TensorIndex.Colon, 1].view(1, -1));
        var mix = m[TensorIndex.Colon, 0].view(1, 1, 1, 1).mul(batch);
        for (var i = 0; i < mixture_width; i++)
        {
            var aug = batch;
            var depth = chain_depth > 0 ? chain_depth : 1 + AugmentationOp.RandInt(3, generator);
            for (var step = 0; step < depth; step++)
            {
                var op = space[AugmentationOp.RandInt(space.Length, generator)];
                var magnitude = op.Magnitudes is { } magnitudes ? magnitudes[AugmentationOp.RandInt(severity, generator)] : 0.0;
                if (op.Signed && AugmentationOp.RandInt(2, generator) != 0)
                    magnitude *= -1.0;
                aug = TensorOps.Apply(aug, op.Name, magnitude, interpolation);
            }
            mix.add_(combined[TensorIndex.Colon, i].view(1, 1, 1, 1).mul(aug));
        }
        var pixels = mix.to(uint8).permute(0, 2, 3, 1).contiguous().data<byte>().ToArray();
        return new RgbImage(orig_img.Width, orig_img.Height, pixels);
    }
}
