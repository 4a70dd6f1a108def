using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// torchvision's ImageClassification preset, the <c>transforms</c> of every ResNet weight: resize the shorter side to
/// <paramref name="resize_size"/> (with <paramref name="interpolation"/>, bilinear or bicubic, antialiased, as PIL does
/// it), center-crop <paramref name="crop_size"/>, scale to [0, 1], normalise by <paramref name="mean"/> and
/// <paramref name="std"/>. With (256, 224) it is the classic <c>Resize(256), CenterCrop(224), ToTensor(),
/// Normalize(...)</c> on a PIL image, and gives the same tensor.
/// </summary>
public sealed record ImageClassification(int crop_size, int resize_size = 256, float[]? mean = null, float[]? std = null,
    InterpolationMode interpolation = InterpolationMode.Bilinear)
{
    /// <summary>PIL's resampling filter for the resize: Bilinear or Bicubic (<see cref="PilResample.Interpolations"/>).</summary>
    /// <exception cref="ArgumentException">Another interpolation.</exception>
    public InterpolationMode interpolation { get; init; } = PilResample.Interpolations.Contains(interpolation) ? interpolation
        : throw new ArgumentException($"interpolation {interpolation} is not one the preset implements: Bilinear or Bicubic", nameof(interpolation));

    /// <summary>ImageNet's channel means.</summary>
    public static readonly float[] ImageNetMean = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet's channel standard deviations.</summary>
    public static readonly float[] ImageNetStd = [0.229f, 0.224f, 0.225f];

    /// <summary>The channel means used (ImageNet's unless given).</summary>
    public float[] mean { get; init; } = mean ?? ImageNetMean;

    /// <summary>The channel standard deviations used (ImageNet's unless given).</summary>
    public float[] std { get; init; } = std ?? ImageNetStd;

    /// <summary>The order the network takes the channels in (<see cref="ChannelOrders"/>): RGB, torchvision's, unless given.</summary>
    public string ChannelOrder { get; init; } = ChannelOrders.Rgb;

    /// <summary>
    /// A mean per pixel, [3, crop_size, crop_size] in <see cref="ChannelOrder"/> and in ToTensor's units (0..1),
    /// subtracted after <see cref="mean"/>: for networks trained on a mean image; null (torchvision's) for none.
    /// </summary>
    public float[]? MeanImage { get; init; }

    /// <summary>The normalised float tensor [3, crop_size, crop_size] for one image.</summary>
    public Tensor forward(RgbImage image)
    {
        var (height, width) = ResizedOutputSize(image.Height, image.Width, resize_size);
        if (crop_size <= height && crop_size <= width)
        {
            // The crop alone is resampled: the same pixels as resizing then cropping, in memory bounded by the crop.
            var (top, left) = (CenterOffset(height, crop_size), CenterOffset(width, crop_size));
            return ToTensor.Normalized(PilResample.ResizeCrop(image, width, height, left, top, crop_size, crop_size, interpolation), mean, std, ChannelOrder, MeanImage);
        }
        var resized = (height, width) == (image.Height, image.Width) ? image : PilResample.Resize(image, width, height, interpolation);
        return ToTensor.Normalized(center_crop(resized, crop_size, crop_size), mean, std, ChannelOrder, MeanImage);
    }

    /// <summary>torchvision's output size for resizing the shorter side to <paramref name="size"/>: the longer side is truncated.</summary>
    public static (int height, int width) ResizedOutputSize(int height, int width, int size)
    {
        var (shorter, longer) = width <= height ? (width, height) : (height, width);
        var newLonger = (int)((double)((long)size * longer) / shorter);
        return width <= height ? (newLonger, size) : (size, newLonger);
    }

    /// <summary>torchvision's center crop: offsets rounded half to even (Python's round), black padding where the image is smaller.</summary>
    public static RgbImage center_crop(RgbImage image, int cropHeight, int cropWidth)
    {
        var top = CenterOffset(image.Height, cropHeight);
        var left = CenterOffset(image.Width, cropWidth);
        if (cropWidth > image.Width || cropHeight > image.Height)
        {
            // torchvision pads first (left/top get the smaller half), then crops the padded image.
            var padLeft = cropWidth > image.Width ? (cropWidth - image.Width) / 2 : 0;
            var padTop = cropHeight > image.Height ? (cropHeight - image.Height) / 2 : 0;
            var paddedWidth = image.Width + (cropWidth > image.Width ? cropWidth - image.Width : 0);
            var paddedHeight = image.Height + (cropHeight > image.Height ? cropHeight - image.Height : 0);
            top = (int)Math.Round((paddedHeight - cropHeight) / 2.0, MidpointRounding.ToEven) - padTop;
            left = (int)Math.Round((paddedWidth - cropWidth) / 2.0, MidpointRounding.ToEven) - padLeft;
        }
        return image.Crop(left, top, cropWidth, cropHeight);
    }

    /// <summary>torchvision's center_crop offset: half the difference, rounded half to even.</summary>
    static int CenterOffset(int size, int crop) => (int)Math.Round((size - crop) / 2.0, MidpointRounding.ToEven);
}
