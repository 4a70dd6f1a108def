using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TorchVisionModels;

/// <summary>
/// <c>torch.nn.BatchNorm2d</c>, the norm layer ResNet builds by default: TorchSharp's own, with a forward that keeps
/// its scalars alive. TorchSharp 0.107's <c>BatchNorm.forward</c> counts batches with <c>num_batches_tracked.add_(1)</c>,
/// whose temporary scalars the garbage collector may finalize while libtorch still reads them (see <see cref="Scalars"/>):
/// seen as a training step failing at random with "argument alpha must not be a floating point number". Parameters,
/// buffers, state_dict keys and arithmetic are <c>BatchNorm2d</c>'s; it derives from TorchSharp's <see cref="BatchNorm"/>,
/// as <c>BatchNorm2d</c> does (which is sealed).
/// </summary>
public sealed class BatchNorm2dWithLiveScalars : BatchNorm
{
    /// <summary>Batch normalisation over <paramref name="num_features"/> channels, with PyTorch's defaults.</summary>
    public BatchNorm2dWithLiveScalars(long num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true, bool track_running_stats = true)
        : base(num_features, eps, momentum, affine, track_running_stats, null, null, "BatchNorm2d")
    {
    }

    /// <inheritdoc/>
    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"expected 4D input (got {input.dim()}D input)");
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        var factor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is not null)
        {
            using (no_grad())
                num_batches_tracked.add_(Scalars.One, Scalars.One);
            // PyTorch: momentum None means a cumulative average.
            if (momentum is null)
                factor = 1.0 / num_batches_tracked.item<long>();
        }
        var useBatchStatistics = training || running_mean is null || running_var is null;
        var keepStatistics = !training || track_running_stats;
        return F.batch_norm(input, keepStatistics ? running_mean : null, keepStatistics ? running_var : null, weight, bias, useBatchStatistics, factor, eps);
    }
}
