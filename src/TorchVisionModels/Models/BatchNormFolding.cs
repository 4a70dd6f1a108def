using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// Folds an eval-mode normalisation layer into the convolution before it: <c>bn(conv(x)) = conv'(x)</c> with
/// <c>w' = w * g / sqrt(var + eps)</c> and <c>b' = beta + (b - mean) * g / sqrt(var + eps)</c>, computed in float64.
/// </summary>
static class BatchNormFolding
{
    /// <summary>The norm layer's scale, shift, running mean, running variance and eps.</summary>
    /// <exception cref="NotSupportedException">It is not a BatchNorm2d with running statistics nor a FrozenBatchNorm2d.</exception>
    public static (Tensor scale, Tensor shift, Tensor mean, Tensor variance, double eps) Parameters(nn.Module norm, string name) => norm switch
    {
        BatchNorm { running_mean: { } mean, running_var: { } variance } bn =>
            (bn.weight?.detach() ?? ones_like(mean), bn.bias?.detach() ?? zeros_like(mean), mean, variance, bn.eps),
        FrozenBatchNorm2d frozen =>
            (frozen.get_buffer("weight")!, frozen.get_buffer("bias")!, frozen.get_buffer("running_mean")!, frozen.get_buffer("running_var")!, frozen.eps),
        _ => throw new NotSupportedException(
            $"{name} is a {norm.GetType().Name}, which the fast path and the ONNX exporter do not know: they take BatchNorm2d (with running statistics), FrozenBatchNorm2d and GroupNorm."),
    };

    /// <summary>The folded convolution's weight and bias, float32, on the convolution's device.</summary>
    public static (Tensor weight, Tensor bias) Fold(Convolution conv, nn.Module norm, string name)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var (scale, shift, mean, variance, eps) = Parameters(norm, name);
        using var epsilon = eps.ToScalar();
        var factor = scale.to(float64) / variance.to(float64).add(epsilon, Scalars.One).sqrt();
        var weight = (conv.weight!.detach().to(float64) * factor.view(-1, 1, 1, 1)).to(float32);
        var bias = shift.to(float64).add(((conv.bias?.detach().to(float64) ?? zeros_like(mean, dtype: float64)) - mean.to(float64)) * factor, Scalars.One).to(float32);
        return (weight.MoveToOuterDisposeScope(), bias.MoveToOuterDisposeScope());
    }
}
