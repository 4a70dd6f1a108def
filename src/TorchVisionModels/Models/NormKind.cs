using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// One kind of norm layer, told in one place: the name model cards and <c>--norm</c> use, how to build it, how to
/// recognise it in a network, and what it computes in eval mode. The fast path (<see cref="FusedResNet"/>), the ONNX
/// exporter and model cards read nothing else about norm layers, so a new kind is one <see cref="NormKinds.Add"/>.
/// </summary>
/// <param name="Name">The name a card holds, e.g. <c>bn</c>.</param>
/// <param name="Description">What it is, for messages, e.g. <c>BatchNorm2d with running statistics</c>.</param>
/// <param name="Create">Builds it for a number of channels: the builders' <c>norm_layer</c>.</param>
/// <param name="Is">Whether a module is of this kind.</param>
/// <param name="Evaluate">What a module of this kind computes in eval mode, from its current tensors (not copies).</param>
public sealed record NormKind(string Name, string Description, NormLayer Create, Func<nn.Module, bool> Is, Func<nn.Module, NormEvaluation> Evaluate);

/// <summary>What a norm layer computes in eval mode, in one of the two forms the fast path and the exporter implement.</summary>
public abstract record NormEvaluation
{
    NormEvaluation() { }

    /// <summary>
    /// <c>(x - mean) / sqrt(variance + eps) * scale + shift</c> per channel, with fixed statistics: BatchNorm's
    /// eval mode, which folds into the convolution before it.
    /// </summary>
    /// <param name="Scale">Per-channel scale (the affine weight).</param>
    /// <param name="Shift">Per-channel shift (the affine bias).</param>
    /// <param name="Mean">Per-channel running mean.</param>
    /// <param name="Variance">Per-channel running variance.</param>
    /// <param name="Eps">Added to the variance.</param>
    public sealed record PerChannel(Tensor Scale, Tensor Shift, Tensor Mean, Tensor Variance, double Eps) : NormEvaluation;

    /// <summary>
    /// Each sample's channels split into <paramref name="Groups"/>, each group normalised by its own statistics, then
    /// an optional per-channel affine: GroupNorm, which depends on the input and runs after the convolution.
    /// </summary>
    /// <param name="Groups">The number of groups.</param>
    /// <param name="Weight">Per-channel scale, or null.</param>
    /// <param name="Bias">Per-channel shift, or null.</param>
    /// <param name="Eps">Added to the variance.</param>
    public sealed record PerGroup(long Groups, Tensor? Weight, Tensor? Bias, double Eps) : NormEvaluation;
}
