using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// The block a <see cref="ResNet"/> stacks. Python passes the block class itself and reads its
/// <c>expansion</c> class attribute; C# passes this pair: <see cref="BasicBlock.type"/> or <see cref="Bottleneck.type"/>.
/// </summary>
/// <param name="Name">The block's class name, as model cards spell it: BasicBlock or Bottleneck.</param>
/// <param name="expansion">How many times wider the block's output is than its <c>planes</c>.</param>
/// <param name="Create">The block's constructor.</param>
public sealed record BlockType(string Name, long expansion, BlockType.Constructor Create)
{
    /// <summary>Both blocks.</summary>
    public static IReadOnlyList<BlockType> All => [BasicBlock.type, Bottleneck.type];

    /// <summary>The block called <paramref name="name"/>, or null when none is.</summary>
    public static BlockType? Named(string name) => All.FirstOrDefault(b => b.Name == name);

    /// <summary>The block <paramref name="model"/> stacks.</summary>
    public static BlockType Of(ResNet model) => model.layer1.children().First() is Bottleneck ? Bottleneck.type : BasicBlock.type;

    /// <summary>The signature shared by <see cref="BasicBlock"/>'s and <see cref="Bottleneck"/>'s constructors.</summary>
    public delegate nn.Module<Tensor, Tensor> Constructor(
        long inplanes, long planes, long stride, nn.Module<Tensor, Tensor>? downsample,
        long groups, long base_width, long dilation, NormLayer? norm_layer);
}
