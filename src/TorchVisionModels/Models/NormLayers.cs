using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// The norm layers a model card and the command line name: <c>bn</c> (BatchNorm2d, torchvision's default),
/// <c>frozen-bn</c> (FrozenBatchNorm2d) and <c>gn</c> (GroupNorm with 32 groups, as torchvision's detection models use).
/// </summary>
public static class NormLayers
{
    /// <summary>The names, in the order help texts list them.</summary>
    public static readonly IReadOnlyList<string> Names = ["bn", "frozen-bn", "gn"];

    /// <summary>The <see cref="NormLayer"/> called <paramref name="name"/>; null for <c>bn</c>, which is the builders' default.</summary>
    /// <exception cref="ArgumentException">No norm layer has that name.</exception>
    public static NormLayer? FromName(string name) => name switch
    {
        "bn" => null,
        "frozen-bn" => c => new FrozenBatchNorm2d(c),
        "gn" => c => nn.GroupNorm(32, c),
        _ => throw new ArgumentException($"norm layer '{name}' is not one of {string.Join(", ", Names)}."),
    };

    /// <summary>The name of <paramref name="norm"/>'s kind.</summary>
    /// <exception cref="NotSupportedException">It is none of the named kinds (a custom norm layer, a GroupNorm of other than 32 groups).</exception>
    public static string NameOf(nn.Module norm) => norm switch
    {
        BatchNorm => "bn",
        FrozenBatchNorm2d => "frozen-bn",
        GroupNorm { num_groups: 32 } => "gn",
        _ => throw new NotSupportedException($"A {norm.GetType().Name} norm layer has no name a model card can hold ({string.Join(", ", Names)})."),
    };
}
