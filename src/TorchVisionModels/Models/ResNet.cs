using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using static TorchVisionModels.Convolutions;

namespace TorchVisionModels;

/// <summary>
/// torchvision's ResNet: "Deep Residual Learning for Image Recognition" (https://arxiv.org/abs/1512.03385),
/// with its ResNeXt and Wide ResNet variants. Module names, order and initialisation are torchvision's, so
/// <see cref="state_dict"/> matches PyTorch key for key and the same seed gives the same initial weights.
/// </summary>
public sealed class ResNet : nn.Module<Tensor, Tensor>
{
    readonly NormLayer _norm_layer;
    long inplanes;
    long dilation;

#pragma warning disable CS1591 // The fields are torchvision's attributes, documented there.
    public readonly Conv2d conv1;
    public readonly nn.Module<Tensor, Tensor> bn1;
    public readonly ReLU relu;
    public readonly MaxPool2d maxpool;
    public readonly Sequential layer1;
    public readonly Sequential layer2;
    public readonly Sequential layer3;
    public readonly Sequential layer4;
    public readonly AdaptiveAvgPool2d avgpool;
    public readonly long groups;
    public readonly long base_width;
#pragma warning restore CS1591

    /// <summary>The builder's <c>replace_stride_with_dilation</c>, for layer2..layer4, which torchvision does not keep; model cards record it.</summary>
    public IReadOnlyList<bool> ReplaceStrideWithDilation { get; }

    [ComponentName(Name = nameof(fc))]
    Linear _fc;

    /// <summary>
    /// The classifier. Assigning replaces it, as <c>model.fc = nn.Linear(model.fc.in_features, num_classes)</c> does
    /// in PyTorch for a new head; the replaced layer is disposed.
    /// </summary>
    public Linear fc
    {
        get => _fc;
        set
        {
            var replaced = _fc;
            register_module(nameof(fc), null!);
            register_module(nameof(fc), value);
            _fc = value;
            replaced.Dispose();
        }
    }

    // Process-wide libtorch state, set before the first model runs (see Nnpack).
    static ResNet() => Nnpack.DisableIfUnavailable();

    /// <summary>Builds a ResNet from its block type and the number of blocks in each of its four stages.</summary>
    /// <param name="block"><see cref="BasicBlock.type"/> or <see cref="Bottleneck.type"/>.</param>
    /// <param name="layers">Blocks per stage, e.g. [3, 4, 6, 3] for ResNet-50.</param>
    /// <param name="num_classes">Outputs of the final <c>fc</c> layer.</param>
    /// <param name="zero_init_residual">Zero the last norm layer's weight in each residual branch, so each block starts as an identity (https://arxiv.org/abs/1706.02677).</param>
    /// <param name="groups">Groups of the 3x3 convolutions (ResNeXt's cardinality).</param>
    /// <param name="width_per_group">Channels per group of the 3x3 convolutions at the first stage.</param>
    /// <param name="replace_stride_with_dilation">Three flags, for layer2..layer4: dilate instead of striding.</param>
    /// <param name="norm_layer">The normalisation layer; BatchNorm2d when null.</param>
    public ResNet(
        BlockType block,
        IReadOnlyList<long> layers,
        long num_classes = 1000,
        bool zero_init_residual = false,
        long groups = 1,
        long width_per_group = 64,
        IReadOnlyList<bool>? replace_stride_with_dilation = null,
        NormLayer? norm_layer = null) : base(nameof(ResNet))
    {
        norm_layer ??= num_features => new BatchNorm2dWithLiveScalars(num_features);
        _norm_layer = norm_layer;

        inplanes = 64;
        dilation = 1;
        // Each element says whether to replace the 2x2 stride with a dilated convolution instead.
        replace_stride_with_dilation ??= [false, false, false];
        if (replace_stride_with_dilation.Count != 3)
            throw new ArgumentException(
                $"replace_stride_with_dilation should be null or a 3-element array, got [{string.Join(", ", replace_stride_with_dilation)}]",
                nameof(replace_stride_with_dilation));
        if (layers.Count != 4)
            throw new ArgumentException($"layers should have 4 elements, one per stage, got [{string.Join(", ", layers)}]", nameof(layers));
        ReplaceStrideWithDilation = [.. replace_stride_with_dilation];
        this.groups = groups;
        base_width = width_per_group;
        conv1 = nn.Conv2d(3, inplanes, kernel_size: 7, stride: 2, padding: 3, bias: false);
        bn1 = norm_layer(inplanes);
        relu = nn.ReLU(inplace: true);
        maxpool = nn.MaxPool2d(kernel_size: 3, stride: 2, padding: 1);
        layer1 = _make_layer(block, 64, layers[0]);
        layer2 = _make_layer(block, 128, layers[1], stride: 2, dilate: replace_stride_with_dilation[0]);
        layer3 = _make_layer(block, 256, layers[2], stride: 2, dilate: replace_stride_with_dilation[1]);
        layer4 = _make_layer(block, 512, layers[3], stride: 2, dilate: replace_stride_with_dilation[2]);
        avgpool = nn.AdaptiveAvgPool2d((1, 1));
        _fc = nn.Linear(512 * block.expansion, num_classes);
        RegisterComponents();

        using (no_grad())
        {
            foreach (var m in modules())
            {
                // torchvision's isinstance(m, nn.Conv2d): Conv2d, and the PointwiseConv2d that conv1x1 builds.
                if (m is Convolution conv)
                    nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                else if (m is BatchNorm or GroupNorm)
                {
                    nn.init.constant_(m.get_parameter("weight")!, 1);
                    nn.init.constant_(m.get_parameter("bias")!, 0);
                }
            }

            // Zero-initialise the last norm layer in each residual branch, so that the branch starts at zero
            // and each block behaves like an identity. This improves the model by 0.2~0.3% according to
            // https://arxiv.org/abs/1706.02677
            if (zero_init_residual)
            {
                foreach (var m in modules())
                {
                    if (m is Bottleneck bottleneck && NormWeight(bottleneck.bn3) is { } bn3)
                        nn.init.constant_(bn3, 0);
                    else if (m is BasicBlock basic && NormWeight(basic.bn2) is { } bn2)
                        nn.init.constant_(bn2, 0);
                }
            }
        }
    }

    /// <summary>The norm layer's <c>weight</c>, a parameter (BatchNorm2d, GroupNorm) or a buffer (FrozenBatchNorm2d).</summary>
    static Tensor? NormWeight(nn.Module norm) => norm.get_parameter("weight") ?? norm.get_buffer("weight");

    Sequential _make_layer(BlockType block, long planes, long blocks, long stride = 1, bool dilate = false)
    {
        var norm_layer = _norm_layer;
        nn.Module<Tensor, Tensor>? downsample = null;
        var previous_dilation = dilation;
        if (dilate)
        {
            dilation *= stride;
            stride = 1;
        }
        if (stride != 1 || inplanes != planes * block.expansion)
        {
            downsample = nn.Sequential(
                conv1x1(inplanes, planes * block.expansion, stride),
                norm_layer(planes * block.expansion));
        }

        var layers = new List<nn.Module<Tensor, Tensor>>();
        layers.Add(block.Create(inplanes, planes, stride, downsample, groups, base_width, previous_dilation, norm_layer));
        inplanes = planes * block.expansion;
        for (var i = 1; i < blocks; i++)
            layers.Add(block.Create(inplanes, planes, 1, null, groups, base_width, dilation, norm_layer));

        return nn.Sequential(layers);
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = conv1.call(x);
        x = bn1.call(x);
        x = relu.call(x);
        x = maxpool.call(x);

        x = layer1.call(x);
        x = layer2.call(x);
        x = layer3.call(x);
        x = layer4.call(x);

        x = avgpool.call(x);
        x = flatten(x, 1);
        x = fc.call(x);

        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Submodules depth-first, each before its children, as PyTorch lists them (TorchSharp lists a module's children before their descendants).</summary>
    public override IEnumerable<(string name, nn.Module module)> named_modules() => PyTorchOrder.named_modules(this);

    /// <summary>Parameters and persistent buffers, module by module, in PyTorch's order (TorchSharp lists all parameters before all buffers).</summary>
    public override Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null)
        => PyTorchOrder.state_dict(this, destination, prefix);
}
