using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TorchVisionModels;

/// <summary>
/// A fast inference copy of a <see cref="ResNet"/>: every normalisation layer folded into its convolution (eval-mode
/// semantics), activations kept in channels-last layout, which libtorch's oneDNN convolutions run fastest, and no
/// autograd. It owns copies of the weights: the <see cref="ResNet"/> it came from, which is the one to train and save,
/// is not changed. In float32 its logits equal the model's up to float rounding; it can also compute in bfloat16 or
/// float16 (CPUs with AVX-512 BF16 / AMX run bfloat16 about twice as fast; GPUs both), taking and returning the
/// caller's dtype.
/// </summary>
public sealed class FusedResNet : nn.Module<Tensor, Tensor>
{
    /// <summary>
    /// A convolution with its folded norm layer, or with its GroupNorm after it (<paramref name="groupNorm"/>), which
    /// depends on the input and cannot be folded; a pointwise one (1x1, unpadded, ungrouped) runs through
    /// <see cref="PointwiseConvolution"/>.
    /// </summary>
    sealed record Conv(Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation, long groups, GroupNormCopy? groupNorm = null)
    {
        public bool pointwise { get; } = weight.shape[2] == 1 && weight.shape[3] == 1 && padding.All(p => p == 0) && groups == 1;
    }

    /// <summary>A GroupNorm's groups, eps and its own copies of the affine parameters.</summary>
    sealed record GroupNormCopy(long groups, Tensor? weight, Tensor? bias, double eps);

    /// <summary>A residual block: its convolutions in order, and the downsampling one.</summary>
    sealed record Block(Conv[] convs, Conv? downsample);

    readonly Conv stem;
    readonly (long[] kernel, long[] stride, long[] padding) maxpool;
    readonly Block[] blocks;
    readonly Tensor fcWeight;
    readonly Tensor fcBias;
    readonly bool channelsLast;

    /// <summary>The dtype the network computes in; inputs are cast to it and logits back to the input's.</summary>
    public ScalarType dtype { get; }

    /// <summary>Folds <paramref name="model"/>'s current weights (it may be in train or eval mode; it is not changed).</summary>
    /// <param name="model">The network.</param>
    /// <param name="channelsLast">Run in NHWC layout (faster on CPU with oneDNN); false keeps NCHW.</param>
    /// <param name="dtype">Compute in float32 (default), bfloat16 or float16. Folding is done in float64 first, then rounded once.</param>
    /// <exception cref="NotSupportedException">A norm layer is not BatchNorm2d, FrozenBatchNorm2d or GroupNorm, or a block is not BasicBlock/Bottleneck.</exception>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating-point type of 16 or 32 bits.</exception>
    public FusedResNet(ResNet model, bool channelsLast = true, ScalarType dtype = ScalarType.Float32) : base(nameof(FusedResNet))
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"FusedResNet computes in float32, bfloat16 or float16, not {dtype}.", nameof(dtype));
        this.channelsLast = channelsLast;
        this.dtype = dtype;
        var structure = ResNetStructure.Of(model);
        stem = Fold(structure.Stem);
        maxpool = (model.maxpool.kernel_size, model.maxpool.stride ?? model.maxpool.kernel_size, model.maxpool.padding ?? [0, 0]);
        blocks = structure.Blocks.Select(b => new Block([.. b.Branch.Select(Fold)], b.Downsample is { } d ? Fold(d) : null)).ToArray();
        using (no_grad())
        {
            fcWeight = model.fc.weight!.detach().to(dtype, copy: true).DetachFromDisposeScope();
            fcBias = model.fc.bias!.detach().to(dtype, copy: true).DetachFromDisposeScope();
        }
    }

    Conv Fold(ConvNorm pair)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var conv = pair.Conv;
        if (pair.Norm is GroupNorm gn)
        {
            // Kept as it is: the convolution's own weights, then the GroupNorm on its output.
            var norm = new GroupNormCopy(gn.num_groups, Own(gn.weight), Own(gn.bias), gn.eps);
            return new Conv(OwnWeight(conv.weight!), Own(conv.bias), conv.stride, conv.padding!, conv.dilation, conv.groups, norm);
        }
        var (weight, bias) = BatchNormFolding.Fold(conv, pair.Norm, pair.NormName);
        return new Conv(OwnWeight(weight), Own(bias), conv.stride, conv.padding!, conv.dilation, conv.groups);
    }

    /// <summary>This module's own copy of a convolution weight, in its dtype and layout.</summary>
    Tensor OwnWeight(Tensor weight)
    {
        var copy = weight.detach().to(dtype, copy: true);
        return (channelsLast ? ToChannelsLast(copy) : copy).DetachFromDisposeScope();
    }

    /// <summary>This module's own copy of a tensor, in its dtype.</summary>
    Tensor? Own(Tensor? tensor) => tensor?.detach().to(dtype, copy: true).DetachFromDisposeScope();

    /// <summary>The same memory, NHWC strides: what PyTorch's <c>to(memory_format=torch.channels_last)</c> gives.</summary>
    static Tensor ToChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    static Tensor Apply(Conv c, Tensor x)
    {
        var y = c.pointwise
            ? PointwiseConvolution.conv2d(x, c.weight, c.bias, c.stride)
            : F.conv2d(x, c.weight, c.bias, c.stride, c.padding, c.dilation, c.groups);
        return c.groupNorm is { } gn ? F.group_norm(y, gn.groups, gn.weight, gn.bias, gn.eps) : y;
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        var inputType = x.dtype;
        x = x.to(dtype);
        if (channelsLast)
            x = ToChannelsLast(x);
        x = F.max_pool2d(Apply(stem, x).relu_(), maxpool.kernel, maxpool.stride, maxpool.padding);
        foreach (var block in blocks)
        {
            using var blockScope = NewDisposeScope();
            var @out = x;
            for (var i = 0; i < block.convs.Length; i++)
            {
                @out = Apply(block.convs[i], @out);
                if (i < block.convs.Length - 1)
                    @out.relu_();
            }
            @out.add_(block.downsample is null ? x : Apply(block.downsample, x), Scalars.One).relu_();
            // Free each block's input as soon as its output exists, as PyTorch's reference counting does.
            var input = x;
            x = @out.MoveToOuterDisposeScope();
            input.Dispose();
        }
        x = F.adaptive_avg_pool2d(x, 1).flatten(1);
        return F.linear(x, fcWeight, fcBias).to(inputType).MoveToOuterDisposeScope();
    }

    /// <summary>Frees the folded weights.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var c in blocks.SelectMany(b => b.convs.Append(b.downsample)).Append(stem).OfType<Conv>())
            {
                c.weight.Dispose();
                c.bias?.Dispose();
                c.groupNorm?.weight?.Dispose();
                c.groupNorm?.bias?.Dispose();
            }
            fcWeight.Dispose();
            fcBias.Dispose();
        }
        base.Dispose(disposing);
    }
}
