using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>torchvision's <c>ToTensor()</c> then <c>Normalize(mean, std)</c>, the last steps of every preset.</summary>
static class ToTensor
{
    /// <summary>
    /// The float tensor [3, height, width]: each byte over 255, less its channel's mean, over its channel's std; the
    /// same float32 operations in the same order as torchvision's, so the same bits. Computed here rather than by
    /// tensor operations so that loader threads never enter libtorch's thread pool.
    /// </summary>
    public static Tensor Normalized(RgbImage image, float[] mean, float[] std)
    {
        var plane = image.Width * image.Height;
        var values = new float[3 * plane];
        var pixels = image.Pixels;
        for (var c = 0; c < 3; c++)
        {
            var (m, s) = (mean[c], std[c]);
            var channel = values.AsSpan(c * plane, plane);
            for (var p = 0; p < plane; p++)
                channel[p] = (pixels[p * 3 + c] / 255f - m) / s;
        }
        return tensor(values, [3, image.Height, image.Width]);
    }
}
