using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>A convolution and the norm layer after it, named as in the state_dict (<c>layer1.0.conv1</c>, <c>layer1.0.bn1</c>).</summary>
/// <param name="ConvName">The convolution's module name.</param>
/// <param name="Conv">The convolution.</param>
/// <param name="NormName">The norm layer's module name.</param>
/// <param name="Norm">The norm layer: BatchNorm2d, FrozenBatchNorm2d, GroupNorm or a custom one.</param>
public sealed record ConvNorm(string ConvName, Convolution Conv, string NormName, nn.Module<Tensor, Tensor> Norm);

/// <summary>
/// A residual block: its branch of convolutions, each followed by a ReLU but the last, the shortcut (a 1x1
/// convolution and a norm layer, or the identity), then the sum and a ReLU. BasicBlock has two convolutions in its
/// branch, Bottleneck three.
/// </summary>
/// <param name="Name">The block's module name, e.g. <c>layer2.0</c>.</param>
/// <param name="Branch">The convolutions of the residual branch, in order.</param>
/// <param name="Downsample">The shortcut's convolution and norm layer; null for the identity.</param>
public sealed record ResidualBlock(string Name, IReadOnlyList<ConvNorm> Branch, ConvNorm? Downsample);

/// <summary>
/// One structural view of a <see cref="ResNet"/>, read once from its module tree: the stem (conv1, bn1, ReLU,
/// maxpool), the blocks of layer1..layer4 in order, and the head (global average pool, fc). The fast path
/// (<see cref="FusedResNet"/>) and the ONNX exporter walk this view, so a new block kind is one change, here.
/// </summary>
/// <param name="Stem">conv1 and bn1.</param>
/// <param name="MaxPool">The stem's max pooling.</param>
/// <param name="Stages">layer1..layer4 by name, with their blocks.</param>
/// <param name="Fc">The classifier.</param>
public sealed record ResNetStructure(ConvNorm Stem, MaxPool2d MaxPool, IReadOnlyList<(string Name, IReadOnlyList<ResidualBlock> Blocks)> Stages, Linear Fc)
{
    /// <summary>Every block of every stage, in forward order.</summary>
    public IEnumerable<ResidualBlock> Blocks => Stages.SelectMany(s => s.Blocks);

    /// <summary>Every convolution with its norm layer, stem first, in forward order (a block's branch, then its shortcut).</summary>
    public IEnumerable<ConvNorm> Convolutions => Blocks.SelectMany(b => b.Downsample is null ? b.Branch : b.Branch.Append(b.Downsample)).Prepend(Stem);

    /// <summary>The view of <paramref name="model"/>; it refers to the model's own modules.</summary>
    /// <exception cref="NotSupportedException">A block is neither BasicBlock nor Bottleneck, or a shortcut is not a convolution and a norm layer; the message names it.</exception>
    public static ResNetStructure Of(ResNet model)
    {
        var stages = new[] { ("layer1", model.layer1), ("layer2", model.layer2), ("layer3", model.layer3), ("layer4", model.layer4) }
            .Select(stage => (stage.Item1, (IReadOnlyList<ResidualBlock>)stage.Item2.named_children()
                .Select(child => Block(child.module, $"{stage.Item1}.{child.name}")).ToList()))
            .ToList();
        return new(new ConvNorm("conv1", model.conv1, "bn1", model.bn1), model.maxpool, stages, model.fc);
    }

    static ResidualBlock Block(nn.Module block, string name) => block switch
    {
        BasicBlock b => new(name, [Pair(name, "conv1", b.conv1, "bn1", b.bn1), Pair(name, "conv2", b.conv2, "bn2", b.bn2)], Downsample(b.downsample, name)),
        Bottleneck b => new(name, [Pair(name, "conv1", b.conv1, "bn1", b.bn1), Pair(name, "conv2", b.conv2, "bn2", b.bn2), Pair(name, "conv3", b.conv3, "bn3", b.bn3)],
            Downsample(b.downsample, name)),
        _ => throw new NotSupportedException($"{name} is a {block.GetType().Name}; a ResNet's blocks are BasicBlock and Bottleneck."),
    };

    static ConvNorm Pair(string block, string conv, Convolution convolution, string norm, nn.Module<Tensor, Tensor> normLayer)
        => new($"{block}.{conv}", convolution, $"{block}.{norm}", normLayer);

    static ConvNorm? Downsample(nn.Module<Tensor, Tensor>? downsample, string name) => downsample switch
    {
        null => null,
        Sequential { Count: 2 } d when d[0] is Convolution conv && d[1] is nn.Module<Tensor, Tensor> norm => Pair(name, "downsample.0", conv, "downsample.1", norm),
        _ => throw new NotSupportedException($"{name}.downsample is not a convolution and a norm layer, as torchvision's is."),
    };
}
