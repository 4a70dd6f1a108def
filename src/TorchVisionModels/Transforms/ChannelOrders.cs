namespace TorchVisionModels.Transforms;

/// <summary>
/// The order a network takes the colour channels in: RGB, as torchvision's every network, or BGR, as networks trained
/// on OpenCV's or Caffe's images (CNTK's ResNets among them).
/// </summary>
public static class ChannelOrders
{
    /// <summary>Red, green, blue: torchvision's.</summary>
    public const string Rgb = "RGB";

    /// <summary>Blue, green, red.</summary>
    public const string Bgr = "BGR";

    /// <summary>Every order, as cards and presets spell them.</summary>
    public static readonly IReadOnlyList<string> Names = [Rgb, Bgr];

    /// <summary>The RGB channel that channel <paramref name="channel"/> of the input reads in <paramref name="order"/>.</summary>
    /// <exception cref="ArgumentException">The order is not one of <see cref="Names"/>.</exception>
    public static int Source(string order, int channel) => order switch
    {
        Rgb => channel,
        Bgr => 2 - channel,
        _ => throw new ArgumentException($"channel order '{order}' is not one of {string.Join(", ", Names)}", nameof(order)),
    };
}
