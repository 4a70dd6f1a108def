using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// <c>torch.nn.Conv2d</c> with a 1x1 kernel, no padding and no groups: what torchvision's <c>conv1x1</c> builds.
/// Its parameters, initialisation and state_dict keys are <c>Conv2d</c>'s (TorchSharp's <c>Conv2d</c> is sealed, so this
/// derives from their common base, <see cref="Convolution"/>); its forward runs through <see cref="PointwiseConvolution"/>,
/// which keeps CPUs where oneDNN's 1x1 kernels fail on a correct one.
/// </summary>
public sealed class PointwiseConv2d : Convolution
{
    /// <summary>A 1x1 convolution from <paramref name="in_channels"/> to <paramref name="out_channels"/>, initialised as <c>nn.Conv2d</c> is.</summary>
    public PointwiseConv2d(long in_channels, long out_channels, long stride = 1, bool bias = true, Device? device = null, ScalarType? dtype = null)
        : base("Conv2d", in_channels, out_channels, [1, 1], [stride, stride], [0, 0], null, [1, 1], false, [0, 0], 1, bias, PaddingModes.Zeros, device, dtype)
    {
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        if (input.dim() is not (3 or 4))
            throw new ArgumentException($"Conv2d expects a 3-D (unbatched) or 4-D (batched) input, got {input.dim()}-D [{string.Join(", ", input.shape)}].");
        return PointwiseConvolution.conv2d(input, weight!, bias, stride);
    }
}
