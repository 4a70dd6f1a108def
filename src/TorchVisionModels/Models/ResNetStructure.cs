using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>A convolution and the norm layer after it, named as in the state_dict (<c>layer1.0.conv1</c>, <c>layer1.0.bn1</c>).</summary>
/// <param name="ConvName">The convolution's module name.</param>
/// <param name="Conv">The convolution.</param>
/// <param name="NormName">The norm layer's module name.</param>
/// <param name="Norm">The norm layer, of one of the <see cref="NormKinds"/>.</param>
public sealed record ConvNorm(string ConvName, Convolution Conv, string NormName, nn.Module<Tensor, Tensor> Norm)
{
    /// <summary>What the norm layer computes in eval mode.</summary>
    /// <exception cref="NotSupportedException">It is of no known <see cref="NormKind"/>; the message names it.</exception>
    public NormEvaluation Evaluate() => NormKinds.Evaluate(Norm, NormName);
}

/// <summary>Max pooling's window, with PyTorch's defaults filled in (stride = kernel size, no padding).</summary>
/// <param name="Kernel">Window height and width.</param>
/// <param name="Stride">Step height and width.</param>
/// <param name="Padding">Padding of each side, height and width.</param>
public sealed record Pool(long[] Kernel, long[] Stride, long[] Padding)
{
    /// <summary>The window of <paramref name="pool"/>.</summary>
    public static Pool Of(MaxPool2d pool) => new(pool.kernel_size, pool.stride ?? pool.kernel_size, pool.padding ?? [0, 0]);
}

/// <summary>
/// A residual block: its branch of convolutions, each followed by a ReLU but the last, the shortcut (a 1x1
/// convolution and a norm layer, or the identity), then the sum and a ReLU. BasicBlock has two convolutions in its
/// branch, Bottleneck three.
/// </summary>
/// <typeparam name="TConv">What a convolution with its norm layer is: the modules, or a folded copy.</typeparam>
/// <param name="Name">The block's module name, e.g. <c>layer2.0</c>.</param>
/// <param name="Branch">The convolutions of the residual branch, in order.</param>
/// <param name="Downsample">The shortcut's convolution and norm layer; null for the identity.</param>
public sealed record ResidualBlock<TConv>(string Name, IReadOnlyList<TConv> Branch, TConv? Downsample) where TConv : class;

/// <summary>One of layer1..layer4.</summary>
/// <typeparam name="TConv">What a convolution with its norm layer is.</typeparam>
/// <param name="Name">layer1..layer4.</param>
/// <param name="Blocks">Its blocks, in order.</param>
public sealed record Stage<TConv>(string Name, IReadOnlyList<ResidualBlock<TConv>> Blocks) where TConv : class;

/// <summary>The operations a ResNet's forward is made of, on values of type <typeparamref name="T"/>: tensors for the fast path, graph nodes for the exporter.</summary>
/// <typeparam name="TConv">What a convolution with its norm layer is.</typeparam>
/// <typeparam name="T">What flows between the operations.</typeparam>
public interface IResNetOperations<in TConv, T> where TConv : class
{
    /// <summary>A convolution and its norm layer.</summary>
    T ConvNorm(T x, TConv conv);

    /// <summary>ReLU; <paramref name="name"/> is its place in the network (relu, layer1.0.relu1, ...).</summary>
    T Relu(T x, string name);

    /// <summary>The stem's max pooling.</summary>
    T MaxPool(T x, Pool pool);

    /// <summary>A block's residual sum.</summary>
    T Add(T branch, T shortcut, string name);

    /// <summary>Global average pooling, then flattening to [batch, channels].</summary>
    T AveragePool(T x);

    /// <summary>The classifier.</summary>
    T Fc(T x);
}

/// <summary>
/// ResNet as an executable description: the stem (conv1 and bn1, ReLU, max pool), the stages of residual blocks and
/// the head (global average pool, flatten, fc), with the rule that runs each. The fast path (<see cref="FusedResNet"/>)
/// and the ONNX exporter run this description with their own operations, so each rule is written here once.
/// </summary>
/// <typeparam name="TConv">What a convolution with its norm layer is: <see cref="ConvNorm"/> (the model's modules), or a folded copy.</typeparam>
/// <param name="Stem">conv1 and bn1.</param>
/// <param name="MaxPool">The stem's max pooling.</param>
/// <param name="Stages">layer1..layer4.</param>
public sealed record ResNetStructure<TConv>(TConv Stem, Pool MaxPool, IReadOnlyList<Stage<TConv>> Stages) where TConv : class
{
    /// <summary>Every block of every stage, in forward order.</summary>
    public IEnumerable<ResidualBlock<TConv>> Blocks => Stages.SelectMany(s => s.Blocks);

    /// <summary>Every convolution with its norm layer, stem first, in forward order (a block's branch, then its shortcut).</summary>
    public IEnumerable<TConv> Convolutions => Blocks.SelectMany(b => b.Downsample is { } d ? b.Branch.Append(d) : b.Branch).Prepend(Stem);

    /// <summary>The same network with each convolution (and its norm layer) turned into <typeparamref name="TOut"/>.</summary>
    public ResNetStructure<TOut> Select<TOut>(Func<TConv, TOut> convert) where TOut : class
        => new(convert(Stem), MaxPool, [.. Stages.Select(s => new Stage<TOut>(s.Name,
            [.. s.Blocks.Select(b => new ResidualBlock<TOut>(b.Name, [.. b.Branch.Select(convert)], b.Downsample is { } d ? convert(d) : null))]))]);

    /// <summary>The whole forward: stem, every block, head.</summary>
    public T Forward<T>(T x, IResNetOperations<TConv, T> ops)
    {
        x = RunStem(x, ops);
        foreach (var block in Blocks)
            x = RunBlock(x, block, ops);
        return RunHead(x, ops);
    }

    /// <summary>conv1, bn1, ReLU, max pool.</summary>
    public T RunStem<T>(T x, IResNetOperations<TConv, T> ops) => ops.MaxPool(ops.Relu(ops.ConvNorm(x, Stem), "relu"), MaxPool);

    /// <summary>The branch (a ReLU after each convolution but the last), plus the shortcut, then a ReLU.</summary>
    public static T RunBlock<T>(T x, ResidualBlock<TConv> block, IResNetOperations<TConv, T> ops)
    {
        var branch = x;
        for (var i = 0; i < block.Branch.Count; i++)
        {
            branch = ops.ConvNorm(branch, block.Branch[i]);
            if (i < block.Branch.Count - 1)
                branch = ops.Relu(branch, $"{block.Name}.relu{i + 1}");
        }
        var shortcut = block.Downsample is { } downsample ? ops.ConvNorm(x, downsample) : x;
        return ops.Relu(ops.Add(branch, shortcut, $"{block.Name}.add"), $"{block.Name}.relu");
    }

    /// <summary>Global average pool and flatten, then fc.</summary>
    public static T RunHead<T>(T x, IResNetOperations<TConv, T> ops) => ops.Fc(ops.AveragePool(x));
}

/// <summary>Reads a <see cref="ResNet"/>'s module tree as a <see cref="ResNetStructure{TConv}"/>.</summary>
public static class ResNetStructure
{
    /// <summary>
    /// ResNet's top-level steps in the order forward runs them, as torchvision's feature extraction names them: the
    /// stem's, the stages', the head's.
    /// </summary>
    public static readonly IReadOnlyList<string> Nodes = ["conv1", "bn1", "relu", "maxpool", .. StageNames, "avgpool", "flatten", "fc"];

    /// <summary>The stages' names, layer1..layer4.</summary>
    public static IReadOnlyList<string> StageNames => ["layer1", "layer2", "layer3", "layer4"];

    /// <summary>The structure of <paramref name="model"/>; it refers to the model's own modules.</summary>
    /// <exception cref="NotSupportedException">A block is neither BasicBlock nor Bottleneck, or a shortcut is not a convolution and a norm layer; the message names it.</exception>
    public static ResNetStructure<ConvNorm> Of(ResNet model)
    {
        Sequential[] layers = [model.layer1, model.layer2, model.layer3, model.layer4];
        var stages = StageNames.Zip(layers, (name, layer) =>
            new Stage<ConvNorm>(name, [.. layer.named_children().Select(child => Block(child.module, $"{name}.{child.name}"))]));
        return new(new ConvNorm("conv1", model.conv1, "bn1", model.bn1), Pool.Of(model.maxpool), [.. stages]);
    }

    static ResidualBlock<ConvNorm> Block(nn.Module block, string name) => block switch
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
