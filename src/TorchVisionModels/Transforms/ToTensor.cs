using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>torchvision's <c>ToTensor()</c> then <c>Normalize(mean, std)</c>, the last steps of every preset.</summary>
static class ToTensor
{
    /// <summary>
    /// The float tensor [3, height, width]: each byte over 255, less its channel's mean (and, when given, its pixel's
    /// value in <paramref name="meanImage"/>), over its channel's std, the channels taken in
    /// <paramref name="channelOrder"/>; the same float32 operations in the same order as torchvision's ToTensor and
    /// Normalize, so the same bits. A mean image ([3, height, width] in that order) is the input of networks trained
    /// on one, as CNTK's and Caffe's were. Computed here rather than by tensor operations so that loader threads never
    /// enter libtorch's thread pool.
    /// </summary>
    /// <exception cref="ArgumentException">The mean image is not the image's size.</exception>
    public static Tensor Normalized(RgbImage image, float[] mean, float[] std, string channelOrder, float[]? meanImage)
    {
        var plane = image.Width * image.Height;
        if (meanImage is not null && meanImage.Length != 3 * plane)
            throw new ArgumentException($"The mean image has {meanImage.Length} values; a {image.Width}x{image.Height} image needs {3 * plane}: crop to the mean image's size.");
        var values = new float[3 * plane];
        var pixels = image.Pixels;
        for (var c = 0; c < 3; c++)
        {
            var (m, s, source) = (mean[c], std[c], ChannelOrders.Source(channelOrder, c));
            var channel = values.AsSpan(c * plane, plane);
            if (meanImage is null)
            {
                for (var p = 0; p < plane; p++)
                    channel[p] = (pixels[p * 3 + source] / 255f - m) / s;
                continue;
            }
            var pixelMeans = meanImage.AsSpan(c * plane, plane);
            for (var p = 0; p < plane; p++)
                channel[p] = (pixels[p * 3 + source] / 255f - m - pixelMeans[p]) / s;
        }
        return tensor(values, [3, image.Height, image.Width]);
    }
}
