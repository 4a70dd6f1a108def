using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>The two convolutions every ResNet block is made of, as in torchvision's resnet.py.</summary>
public static class Convolutions
{
    /// <summary>3x3 convolution with padding.</summary>
    public static Conv2d conv3x3(long in_planes, long out_planes, long stride = 1, long groups = 1, long dilation = 1)
        => nn.Conv2d(in_planes, out_planes, kernel_size: 3, stride: stride, padding: dilation, groups: groups, bias: false, dilation: dilation);

    /// <summary>1x1 convolution: a <see cref="PointwiseConv2d"/>, correct on every CPU (see <see cref="PointwiseConvolution"/>).</summary>
    public static PointwiseConv2d conv1x1(long in_planes, long out_planes, long stride = 1)
        => new(in_planes, out_planes, stride: stride, bias: false);
}
