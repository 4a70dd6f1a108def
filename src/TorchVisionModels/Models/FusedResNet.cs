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
    /// A convolution with its folded norm layer, or with a per-group norm after it (<paramref name="perGroup"/>), which
    /// depends on the input and cannot be folded; a pointwise one (1x1, unpadded, ungrouped) runs through
    /// <see cref="PointwiseConvolution"/>.
    /// </summary>
    sealed record Conv(string name, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation, long groups, NormEvaluation.PerGroup? perGroup = null)
    {
        public bool pointwise { get; } = weight.shape[2] == 1 && weight.shape[3] == 1 && padding.All(p => p == 0) && groups == 1;
    }

    readonly ResNetStructure<Conv> structure;
    readonly Operations operations;
    readonly bool channelsLast;

    /// <summary>The dtype the network computes in; inputs are cast to it and logits back to the input's.</summary>
    public ScalarType dtype { get; }

    /// <summary>Folds <paramref name="model"/>'s current weights (it may be in train or eval mode; it is not changed).</summary>
    /// <param name="model">The network.</param>
    /// <param name="channelsLast">Run in NHWC layout (faster on CPU with oneDNN); false keeps NCHW.</param>
    /// <param name="dtype">Compute in float32 (default), bfloat16 or float16. Folding is done in float64 first, then rounded once.</param>
    /// <exception cref="NotSupportedException">A norm layer is of no known <see cref="NormKind"/>, or a block is not BasicBlock/Bottleneck.</exception>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating-point type of 16 or 32 bits.</exception>
    public FusedResNet(ResNet model, bool channelsLast = true, ScalarType dtype = ScalarType.Float32) : base(nameof(FusedResNet))
    {
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
            throw new ArgumentException($"FusedResNet computes in float32, bfloat16 or float16, not {dtype}.", nameof(dtype));
        this.channelsLast = channelsLast;
        this.dtype = dtype;
        var modules = ResNetStructure.Of(model);
        // Every norm is checked before any weight is copied, so an unknown one leaves nothing to free.
        using (NewDisposeScope())
        {
            foreach (var pair in modules.Convolutions)
                pair.Evaluate();
        }
        structure = modules.Select(Fold);
        using (no_grad())
            operations = new Operations(Own(model.fc.weight)!, Own(model.fc.bias)!);
    }

    Conv Fold(ConvNorm pair)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var conv = pair.Conv;
        switch (pair.Evaluate())
        {
            case NormEvaluation.PerChannel perChannel:
                var (weight, bias) = BatchNormFolding.Fold(conv, perChannel);
                return new Conv(pair.ConvName, OwnWeight(weight), Own(bias), conv.stride, conv.padding!, conv.dilation, conv.groups);
            case NormEvaluation.PerGroup perGroup:
                // Kept as it is: the convolution's own weights, then the norm on its output.
                return new Conv(pair.ConvName, OwnWeight(conv.weight!), Own(conv.bias), conv.stride, conv.padding!, conv.dilation, conv.groups,
                    perGroup with { Weight = Own(perGroup.Weight), Bias = Own(perGroup.Bias) });
            default:
                throw new System.Diagnostics.UnreachableException("A NormEvaluation is PerChannel or PerGroup.");
        }
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

    /// <summary>The description's operations on tensors, in place where the value is not needed again.</summary>
    sealed record Operations(Tensor fcWeight, Tensor fcBias) : IResNetOperations<Conv, Tensor>
    {
        public Tensor ConvNorm(Tensor x, Conv c)
        {
            var y = c.pointwise
                ? PointwiseConvolution.conv2d(x, c.weight, c.bias, c.stride)
                : F.conv2d(x, c.weight, c.bias, c.stride, c.padding, c.dilation, c.groups);
            return c.perGroup is { } gn ? F.group_norm(y, gn.Groups, gn.Weight, gn.Bias, gn.Eps) : y;
        }

        public Tensor Relu(Tensor x, string name) => x.relu_();

        public Tensor MaxPool(Tensor x, Pool pool) => F.max_pool2d(x, pool.Kernel, pool.Stride, pool.Padding);

        public Tensor Add(Tensor branch, Tensor shortcut, string name) => branch.add_(shortcut, Scalars.One);

        public Tensor AveragePool(Tensor x) => F.adaptive_avg_pool2d(x, 1).flatten(1);

        public Tensor Fc(Tensor x) => F.linear(x, fcWeight, fcBias);
    }

    /// <summary>
    /// <see cref="Operations"/>, each result shown to an observer as it is made, named as the description names the
    /// step: a convolution's (with its norm layer) by the convolution (<c>layer1.0.conv1</c>), a ReLU's, a sum's
    /// (<c>layer1.0.add</c>), <c>maxpool</c>, <c>avgpool</c> and <c>fc</c>.
    /// </summary>
    sealed record Observed(Operations inner, Action<string, Tensor> observe) : IResNetOperations<Conv, Tensor>
    {
        public Tensor ConvNorm(Tensor x, Conv c) => Seen(c.name, inner.ConvNorm(x, c));

        public Tensor Relu(Tensor x, string name) => Seen(name, inner.Relu(x, name));

        public Tensor MaxPool(Tensor x, Pool pool) => Seen("maxpool", inner.MaxPool(x, pool));

        public Tensor Add(Tensor branch, Tensor shortcut, string name) => Seen(name, inner.Add(branch, shortcut, name));

        public Tensor AveragePool(Tensor x) => Seen("avgpool", inner.AveragePool(x));

        public Tensor Fc(Tensor x) => Seen("fc", inner.Fc(x));

        Tensor Seen(string name, Tensor y)
        {
            observe(name, y);
            return y;
        }
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => Run(x, operations);

    /// <summary>
    /// The logits of <paramref name="x"/>, with every activation shown to <paramref name="observe"/> as it is made
    /// (before the next step, which may change it in place): <c>input</c> (in this module's dtype), then each step's
    /// result named as <see cref="ResNetStructure{TConv}"/> names it (<c>conv1</c>, <c>relu</c>, <c>maxpool</c>,
    /// <c>layer1.0.conv1</c>, <c>layer1.0.relu1</c>, ..., <c>layer1.0.add</c>, <c>layer1.0.relu</c>, ...,
    /// <c>avgpool</c>, <c>fc</c>). Calibration reads the activations' ranges this way.
    /// </summary>
    public Tensor forward(Tensor x, Action<string, Tensor> observe) => Run(x, new Observed(operations, observe));

    Tensor Run(Tensor x, IResNetOperations<Conv, Tensor> operations)
    {
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        var inputType = x.dtype;
        x = x.to(dtype);
        if (channelsLast)
            x = ToChannelsLast(x);
        if (operations is Observed observed)
            observed.observe("input", x);
        x = structure.RunStem(x, operations);
        foreach (var block in structure.Blocks)
        {
            using var blockScope = NewDisposeScope();
            var @out = ResNetStructure<Conv>.RunBlock(x, block, operations);
            // Free each block's input as soon as its output exists, as PyTorch's reference counting does.
            var input = x;
            x = @out.MoveToOuterDisposeScope();
            input.Dispose();
        }
        return ResNetStructure<Conv>.RunHead(x, operations).to(inputType).MoveToOuterDisposeScope();
    }

    /// <summary>Frees the folded weights.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var c in structure.Convolutions)
            {
                c.weight.Dispose();
                c.bias?.Dispose();
                c.perGroup?.Weight?.Dispose();
                c.perGroup?.Bias?.Dispose();
            }
            operations.fcWeight.Dispose();
            operations.fcBias.Dispose();
        }
        base.Dispose(disposing);
    }
}
