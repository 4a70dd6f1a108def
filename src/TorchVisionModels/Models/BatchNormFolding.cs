using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// Folds a per-channel eval-mode norm into the convolution before it: <c>bn(conv(x)) = conv'(x)</c> with
/// <c>w' = w * g / sqrt(var + eps)</c> and <c>b' = beta + (b - mean) * g / sqrt(var + eps)</c>, computed in float64.
/// </summary>
static class BatchNormFolding
{
    /// <summary>The folded convolution's weight and bias, float32, on the convolution's device.</summary>
    public static (Tensor weight, Tensor bias) Fold(Convolution conv, NormEvaluation.PerChannel norm)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var epsilon = norm.Eps.ToScalar();
        var factor = norm.Scale.to(float64) / norm.Variance.to(float64).add(epsilon, Scalars.One).sqrt();
        var weight = (conv.weight!.detach().to(float64) * factor.view(-1, 1, 1, 1)).to(float32);
        var bias = norm.Shift.to(float64)
            .add(((conv.bias?.detach().to(float64) ?? zeros_like(norm.Mean, dtype: float64)) - norm.Mean.to(float64)) * factor, Scalars.One).to(float32);
        return (weight.MoveToOuterDisposeScope(), bias.MoveToOuterDisposeScope());
    }
}
