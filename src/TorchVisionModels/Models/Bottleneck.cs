using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchVisionModels.Convolutions;

namespace TorchVisionModels;

/// <summary>
/// The 1x1 / 3x3 / 1x1 residual block of ResNet-50 and deeper, ResNeXt and Wide ResNet.
/// Like torchvision (ResNet V1.5), it downsamples in the 3x3 convolution (conv2), not the first 1x1:
/// see "Deep residual learning for image recognition" (https://arxiv.org/abs/1512.03385) and
/// NVIDIA's ResNet V1.5 notes; this is what torchvision's weights expect.
/// </summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    /// <summary>The output has <c>planes * expansion</c> channels.</summary>
    public const long expansion = 4;

    /// <summary>This block as <see cref="ResNet"/>'s <c>block</c> argument.</summary>
    public static readonly BlockType type = new(nameof(Bottleneck), expansion,
        (inplanes, planes, stride, downsample, groups, base_width, dilation, norm_layer) =>
            new Bottleneck(inplanes, planes, stride, downsample, groups, base_width, dilation, norm_layer));

#pragma warning disable CS1591 // The fields are torchvision's attributes, documented there.
    public readonly PointwiseConv2d conv1;
    public readonly nn.Module<Tensor, Tensor> bn1;
    public readonly Conv2d conv2;
    public readonly nn.Module<Tensor, Tensor> bn2;
    public readonly PointwiseConv2d conv3;
    public readonly nn.Module<Tensor, Tensor> bn3;
    public readonly ReLU relu;
    public readonly nn.Module<Tensor, Tensor>? downsample;
    public readonly long stride;
#pragma warning restore CS1591

    /// <summary>Builds the block; <paramref name="groups"/> and <paramref name="base_width"/> give ResNeXt and Wide ResNet.</summary>
    public Bottleneck(
        long inplanes,
        long planes,
        long stride = 1,
        nn.Module<Tensor, Tensor>? downsample = null,
        long groups = 1,
        long base_width = 64,
        long dilation = 1,
        NormLayer? norm_layer = null) : base(nameof(Bottleneck))
    {
        norm_layer ??= num_features => new BatchNorm2dWithLiveScalars(num_features);
        var width = (long)(planes * (base_width / 64.0)) * groups;
        // Both conv2 and downsample downsample the input when stride != 1.
        conv1 = conv1x1(inplanes, width);
        bn1 = norm_layer(width);
        conv2 = conv3x3(width, width, stride, groups, dilation);
        bn2 = norm_layer(width);
        conv3 = conv1x1(width, planes * expansion);
        bn3 = norm_layer(planes * expansion);
        relu = nn.ReLU(inplace: true);
        this.downsample = downsample;
        this.stride = stride;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var identity = x;

        var @out = conv1.call(x);
        @out = bn1.call(@out);
        @out = relu.call(@out);

        @out = conv2.call(@out);
        @out = bn2.call(@out);
        @out = relu.call(@out);

        @out = conv3.call(@out);
        @out = bn3.call(@out);

        if (downsample is not null)
            identity = downsample.call(x);

        @out.add_(identity, Scalars.One);
        @out = relu.call(@out);

        return @out.MoveToOuterDisposeScope();
    }
}
