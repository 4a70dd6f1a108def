using TorchSharp;
using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// torchvision.ops.FrozenBatchNorm2d: BatchNorm2d whose statistics and affine parameters are fixed buffers,
/// for fine-tuning with small batches. Its state_dict keys are BatchNorm2d's without <c>num_batches_tracked</c>.
/// </summary>
public sealed class FrozenBatchNorm2d : nn.Module<Tensor, Tensor>
{
    /// <summary>Added to the variance for numerical stability.</summary>
    public readonly double eps;

    readonly Scalar epsScalar;

    /// <summary>Builds the layer for <paramref name="num_features"/> channels as the identity transform.</summary>
    public FrozenBatchNorm2d(long num_features, double eps = 1e-5) : base(nameof(FrozenBatchNorm2d))
    {
        this.eps = eps;
        epsScalar = eps.ToScalar();
        register_buffer("weight", ones(num_features));
        register_buffer("bias", zeros(num_features));
        register_buffer("running_mean", zeros(num_features));
        register_buffer("running_var", ones(num_features));
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // Reshapes first, as torchvision does, so the arithmetic below stays fuser-friendly.
        var w = get_buffer("weight")!.reshape(1, -1, 1, 1);
        var b = get_buffer("bias")!.reshape(1, -1, 1, 1);
        var rv = get_buffer("running_var")!.reshape(1, -1, 1, 1);
        var rm = get_buffer("running_mean")!.reshape(1, -1, 1, 1);
        var scale = w * rv.add(epsScalar, Scalars.One).rsqrt();
        var bias = b - rm * scale;
        return (x * scale).add_(bias, Scalars.One).MoveToOuterDisposeScope();
    }
}
