using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchVisionModels.Convolutions;

namespace TorchVisionModels;

/// <summary>The two-convolution residual block of ResNet-18 and ResNet-34.</summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    /// <summary>The output has <c>planes * expansion</c> channels.</summary>
    public const long expansion = 1;

    /// <summary>This block as <see cref="ResNet"/>'s <c>block</c> argument.</summary>
    public static readonly BlockType type = new(nameof(BasicBlock), expansion,
        (inplanes, planes, stride, downsample, groups, base_width, dilation, norm_layer) =>
            new BasicBlock(inplanes, planes, stride, downsample, groups, base_width, dilation, norm_layer));

#pragma warning disable CS1591 // The fields are torchvision's attributes, documented there.
    public readonly Conv2d conv1;
    public readonly nn.Module<Tensor, Tensor> bn1;
    public readonly ReLU relu;
    public readonly Conv2d conv2;
    public readonly nn.Module<Tensor, Tensor> bn2;
    public readonly nn.Module<Tensor, Tensor>? downsample;
    public readonly long stride;
#pragma warning restore CS1591

    /// <summary>Builds the block; raises torchvision's errors for the options it does not support.</summary>
    public BasicBlock(
        long inplanes,
        long planes,
        long stride = 1,
        nn.Module<Tensor, Tensor>? downsample = null,
        long groups = 1,
        long base_width = 64,
        long dilation = 1,
        NormLayer? norm_layer = null) : base(nameof(BasicBlock))
    {
        norm_layer ??= num_features => new BatchNorm2dWithLiveScalars(num_features);
        if (groups != 1 || base_width != 64)
            throw new ArgumentException("BasicBlock only supports groups=1 and base_width=64");
        if (dilation > 1)
            throw new NotSupportedException("Dilation > 1 not supported in BasicBlock");
        // Both conv1 and downsample downsample the input when stride != 1.
        conv1 = conv3x3(inplanes, planes, stride);
        bn1 = norm_layer(planes);
        relu = nn.ReLU(inplace: true);
        conv2 = conv3x3(planes, planes);
        bn2 = norm_layer(planes);
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

        if (downsample is not null)
            identity = downsample.call(x);

        @out.add_(identity, Scalars.One);
        @out = relu.call(@out);

        return @out.MoveToOuterDisposeScope();
    }
}
