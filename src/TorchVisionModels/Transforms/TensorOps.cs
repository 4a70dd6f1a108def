using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// torchvision's <c>_apply_op</c> on uint8 image tensors [N, 3, H, W], as <see cref="AugMix"/> runs it
/// (torchvision 0.14's functional_tensor): geometry through <c>grid_sample</c> on an affine grid, rounded back to
/// bytes; colour as blends in float32, truncated back. Pillow's arithmetic differs (<see cref="AugmentationOp.Apply"/>),
/// so the two are kept apart as torchvision keeps them. Callers own a dispose scope.
/// </summary>
static class TensorOps
{
    /// <summary>The operation <paramref name="name"/> at <paramref name="magnitude"/>.</summary>
    public static Tensor Apply(Tensor img, string name, double magnitude, InterpolationMode interpolation)
    {
        const double radToDeg = 180.0 / Math.PI;
        var (height, width) = (img.shape[^2], img.shape[^1]);
        // Tensors' centres are relative to the image's centre: center [0, 0] is the top-left corner.
        double[] corner = [-width * 0.5, -height * 0.5];
        double[] middle = [0.0, 0.0];
        return name switch
        {
            "ShearX" => Affine(img, functional.InverseAffineMatrix(corner, 0.0, [0, 0], 1.0, [Math.Atan(magnitude) * radToDeg, 0.0]), interpolation),
            "ShearY" => Affine(img, functional.InverseAffineMatrix(corner, 0.0, [0, 0], 1.0, [0.0, Math.Atan(magnitude) * radToDeg]), interpolation),
            "TranslateX" => Affine(img, functional.InverseAffineMatrix(middle, 0.0, [(int)magnitude, 0], 1.0, [0.0, 0.0]), interpolation),
            "TranslateY" => Affine(img, functional.InverseAffineMatrix(middle, 0.0, [0, (int)magnitude], 1.0, [0.0, 0.0]), interpolation),
            "Rotate" => Affine(img, functional.InverseAffineMatrix(middle, -magnitude, [0, 0], 1.0, [0.0, 0.0]), interpolation),
            "Brightness" => Blend(img, zeros_like(img), 1.0 + magnitude),
            "Color" => Blend(img, Grayscale(img), 1.0 + magnitude),
            "Contrast" => Blend(img, Grayscale(img).to(float32).mean([-3, -2, -1], keepdim: true), 1.0 + magnitude),
            "Sharpness" => img.shape[^1] <= 2 || img.shape[^2] <= 2 ? img : Blend(img, Blurred(img), 1.0 + magnitude),
            // -2 ** (8 - bits) as a byte: the top bits kept.
            "Posterize" => img.bitwise_and(tensor((byte)((0xFF << (8 - (int)magnitude)) & 0xFF))),
            "Solarize" => where(img.ge(magnitude), tensor((byte)255).sub(img), img),
            "AutoContrast" => AutoContrast(img),
            "Equalize" => stack([.. Enumerable.Range(0, (int)img.shape[0]).Select(n => stack([.. Enumerable.Range(0, 3).Select(c => EqualizeChannel(img[n, c]))]))]),
            "Identity" => img,
            _ => throw new ArgumentException($"The provided operator {name} is not recognized.", nameof(name)),
        };
    }

    /// <summary>F_t.affine: the inverse <paramref name="matrix"/> as a grid over output pixel centres, sampled with zeros outside, rounded.</summary>
    static Tensor Affine(Tensor img, double[] matrix, InterpolationMode interpolation)
    {
        var (height, width) = (img.shape[^2], img.shape[^1]);
        var theta = tensor(matrix.Select(v => (float)v).ToArray(), [1, 2, 3]);
        // _gen_affine_grid: output pixel centres relative to the image's centre, then normalised by half the size.
        var grid = empty(1, height, width, 3);
        grid[TensorIndex.Ellipsis, 0].copy_(linspace(-width * 0.5 + 0.5, width * 0.5 + 0.5 - 1, width));
        grid[TensorIndex.Ellipsis, 1].copy_(linspace(-height * 0.5 + 0.5, height * 0.5 + 0.5 - 1, height).unsqueeze(-1));
        grid[TensorIndex.Ellipsis, 2].fill_(1);
        var rescaled = theta.transpose(1, 2).div(tensor(new[] { 0.5f * width, 0.5f * height }));
        var sampling = grid.view(1, height * width, 3).bmm(rescaled).view(1, height, width, 2).expand(img.shape[0], height, width, 2);
        var mode = interpolation switch
        {
            InterpolationMode.Nearest => GridSampleMode.Nearest,
            InterpolationMode.Bilinear => GridSampleMode.Bilinear,
            _ => throw new ArgumentException($"interpolation {interpolation} is not one torchvision's tensor transforms take: Nearest or Bilinear", nameof(interpolation)),
        };
        var sampled = nn.functional.grid_sample(img.to(float32), sampling, mode, GridSamplePaddingMode.Zeros, align_corners: false);
        return sampled.round().to(uint8);
    }

    /// <summary>_blend: <c>ratio * img1 + (1 - ratio) * img2</c> in float32, clamped and truncated to bytes.</summary>
    static Tensor Blend(Tensor img1, Tensor img2, double ratio) => img1.mul(ratio).add(img2.mul(1.0 - ratio)).clamp(0, 255).to(uint8);

    /// <summary>rgb_to_grayscale: the ITU-R 601 luma in float32, truncated; one channel.</summary>
    static Tensor Grayscale(Tensor img)
    {
        var (r, g, b) = (img.select(-3, 0), img.select(-3, 1), img.select(-3, 2));
        return r.mul(0.2989).add(g.mul(0.587)).add(b.mul(0.114)).to(uint8).unsqueeze(-3);
    }

    /// <summary>_blurred_degenerate_image: a 3x3 smoothing (centre weight 5 of 13) inside a one-pixel border left as it was.</summary>
    static Tensor Blurred(Tensor img)
    {
        var kernel = ones(3, 3);
        kernel[1, 1] = tensor(5.0f);
        kernel = kernel.div(kernel.sum()).expand(img.shape[^3], 1, 3, 3);
        var smoothed = nn.functional.conv2d(img.to(float32), kernel, groups: img.shape[^3]).round().to(uint8);
        var result = img.clone();
        result[TensorIndex.Ellipsis, TensorIndex.Slice(1, -1), TensorIndex.Slice(1, -1)] = smoothed;
        return result;
    }

    /// <summary>autocontrast: each channel stretched from its minimum to its maximum over 0..255; a flat channel stays.</summary>
    static Tensor AutoContrast(Tensor img)
    {
        var minimum = img.amin([-2, -1], keepdim: true).to(float32);
        var maximum = img.amax([-2, -1], keepdim: true).to(float32);
        // Python's 255.0 / tensor is tensor.reciprocal() * 255.0: two roundings, as torch computes it.
        var scale = maximum.sub(minimum).reciprocal().mul(255.0);
        var flat = isfinite(scale).logical_not();
        minimum = minimum.masked_fill(flat, 0);
        scale = scale.masked_fill(flat, 1);
        return img.sub(minimum).mul(scale).clamp(0, 255).to(uint8);
    }

    /// <summary>_scale_channel: the histogram's cumulative lookup table, in integers; a channel of one value stays.</summary>
    static Tensor EqualizeChannel(Tensor channel)
    {
        var histogram = channel.reshape(-1).bincount(null, 256);
        var nonzero = histogram.masked_select(histogram.ne(0));
        var step = nonzero.narrow(0, 0, nonzero.shape[0] - 1).sum().div(255, rounding_mode: RoundingMode.floor);
        if (step.item<long>() == 0)
            return channel;
        var lut = histogram.cumsum(0).add(step.div(2, rounding_mode: RoundingMode.floor)).div(step, rounding_mode: RoundingMode.floor);
        lut = nn.functional.pad(lut, [1, 0]).narrow(0, 0, 256).clamp(0, 255);
        return lut.index_select(0, channel.reshape(-1).to(int64)).reshape(channel.shape).to(uint8);
    }
}
