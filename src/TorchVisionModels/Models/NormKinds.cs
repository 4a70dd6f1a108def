using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// The norm layers a network may hold: <c>bn</c> (BatchNorm2d, torchvision's default), <c>frozen-bn</c>
/// (FrozenBatchNorm2d) and <c>gn</c> (GroupNorm with 32 groups, as torchvision's detection models use), and any kind
/// added with <see cref="Add"/>.
/// </summary>
public static class NormKinds
{
    static readonly Lock Gate = new();

    static IReadOnlyList<NormKind> kinds =
    [
        new("bn", "BatchNorm2d with running statistics", c => new BatchNorm2dWithLiveScalars(c),
            m => m is BatchNorm { running_mean: not null, running_var: not null }, m => OfBatchNorm((BatchNorm)m)),
        new("frozen-bn", "FrozenBatchNorm2d", c => new FrozenBatchNorm2d(c), m => m is FrozenBatchNorm2d, m => OfFrozenBatchNorm((FrozenBatchNorm2d)m)),
        new("gn", "GroupNorm of 32 groups", c => nn.GroupNorm(32, c), m => m is GroupNorm { num_groups: 32 }, m => OfGroupNorm((GroupNorm)m)),
    ];

    static NormEvaluation.PerChannel OfBatchNorm(BatchNorm bn) => new(
        bn.weight?.detach() ?? ones_like(bn.running_mean!), bn.bias?.detach() ?? zeros_like(bn.running_mean!), bn.running_mean!, bn.running_var!, bn.eps);

    static NormEvaluation.PerChannel OfFrozenBatchNorm(FrozenBatchNorm2d frozen) => new(
        frozen.get_buffer("weight")!, frozen.get_buffer("bias")!, frozen.get_buffer("running_mean")!, frozen.get_buffer("running_var")!, frozen.eps);

    static NormEvaluation.PerGroup OfGroupNorm(GroupNorm gn) => new(gn.num_groups, gn.weight?.detach(), gn.bias?.detach(), gn.eps);

    /// <summary>Every kind, the built-in ones first, in the order help texts list them.</summary>
    public static IReadOnlyList<NormKind> All => kinds;

    /// <summary>Their names.</summary>
    public static IReadOnlyList<string> Names => [.. kinds.Select(k => k.Name)];

    /// <summary>Makes <paramref name="kind"/> known to the fast path, the ONNX exporter and model cards, until the result is disposed.</summary>
    /// <exception cref="ArgumentException">A kind of that name exists.</exception>
    public static IDisposable Add(NormKind kind)
    {
        lock (Gate)
        {
            if (kinds.Any(k => k.Name == kind.Name))
                throw new ArgumentException($"A norm kind named '{kind.Name}' exists already.", nameof(kind));
            kinds = [.. kinds, kind];
        }
        return new Registration(kind);
    }

    sealed class Registration(NormKind kind) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate)
                kinds = [.. kinds.Where(k => k != kind)];
        }
    }

    /// <summary>The kind called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No kind has that name; the message lists them.</exception>
    public static NormKind Named(string name)
        => kinds.FirstOrDefault(k => k.Name == name) ?? throw new ArgumentException($"norm layer '{name}' is not one of {string.Join(", ", Names)}.");

    /// <summary>The kind of <paramref name="norm"/>, the module called <paramref name="name"/> in its network.</summary>
    /// <exception cref="NotSupportedException">It is of no known kind; the message names it and lists the kinds.</exception>
    public static NormKind Of(nn.Module norm, string name)
        => kinds.FirstOrDefault(k => k.Is(norm)) ?? throw new NotSupportedException(
            $"{name} is a {norm.GetType().Name}, of no known norm kind: {string.Join(", ", kinds.Select(k => $"{k.Name} ({k.Description})"))}. NormKinds.Add makes a new kind known.");

    /// <summary>Whether <paramref name="module"/> is a norm layer of a known kind: the reference's norm classes for weight decay.</summary>
    public static bool IsNormLayer(nn.Module module) => kinds.Any(k => k.Is(module));

    /// <summary>What <paramref name="norm"/>, the module called <paramref name="name"/>, computes in eval mode.</summary>
    /// <exception cref="NotSupportedException">It is of no known kind.</exception>
    public static NormEvaluation Evaluate(nn.Module norm, string name) => Of(norm, name).Evaluate(norm);
}
