using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TorchVisionModels;

/// <summary>Which kernel computes a 1x1 convolution of CPU tensors.</summary>
public enum PointwiseKernel
{
    /// <summary>libtorch's convolution, which on x86-64 runs oneDNN's 1x1 convolution kernels.</summary>
    OneDnn,

    /// <summary>The same product as a matrix multiplication (<c>matmul</c>/<c>linear</c>), forward and backward.</summary>
    MatMul,
}

/// <summary>
/// How 1x1 convolutions (ResNet's <c>conv1x1</c>, and the fast path's folded ones) are computed on the CPU.
/// <para>
/// libtorch 2.10 bundles oneDNN 3.7.1, whose 1x1 convolution kernels (<c>brgconv_1x1</c>) size their blocking from
/// the CPU's cache sizes, read with <c>cpuid</c> (leaf 4 on Intel, 0x8000001D on AMD). Where those leaves report no
/// caches, as on AMD EPYC cloud VMs, the kernels divide by zero (SIGFPE: the process dies, forward and backward,
/// float32 and bfloat16) or compute wrong results (channels-last, up to 0.6 relative error); every other convolution
/// is correct. See pytorch/pytorch#177227; no released oneDNN is known to fix it (uxlfoundation/oneDNN#4990, which
/// guarded divisions in nearby blocking code, was closed unmerged).
/// </para>
/// <para>
/// On such CPUs, and on every x86-64 CPU that is not Intel's, <see cref="Kernel"/> is <see cref="PointwiseKernel.MatMul"/>:
/// the same arithmetic through libtorch's matrix multiplication, which is not affected and measured as fast as
/// oneDNN's kernel. Elsewhere (Intel with its caches visible, ARM, GPUs) nothing changes. The environment variable
/// <c>TORCHVISION_RESNET_POINTWISE_KERNEL</c> (<c>onednn</c>, <c>matmul</c> or <c>auto</c>) or setting
/// <see cref="Kernel"/> overrides the choice.
/// </para>
/// </summary>
public static class PointwiseConvolution
{
    /// <summary>The environment variable that overrides the CPU-based choice: <c>onednn</c>, <c>matmul</c> or <c>auto</c>.</summary>
    public const string EnvironmentVariable = "TORCHVISION_RESNET_POINTWISE_KERNEL";

    static readonly Lazy<(PointwiseKernel kernel, string reason)> automatic = new(Choose);
    static (PointwiseKernel kernel, string reason)? chosen;

    /// <summary>The kernel for 1x1 convolutions of CPU tensors in this process. Setting it overrides the environment and the CPU check.</summary>
    /// <exception cref="ArgumentException">On first use, when <see cref="EnvironmentVariable"/> holds another value than <c>onednn</c>, <c>matmul</c> or <c>auto</c>.</exception>
    public static PointwiseKernel Kernel
    {
        get => (chosen ?? automatic.Value).kernel;
        set => chosen = (value, "set by PointwiseConvolution.Kernel");
    }

    /// <summary>Why <see cref="Kernel"/> has its value, in a sentence (for <c>info</c> and <c>bench</c>).</summary>
    public static string Reason => (chosen ?? automatic.Value).reason;

    /// <summary>
    /// <c>conv2d(x, weight, bias, stride)</c> for a 1x1 <paramref name="weight"/> without padding, dilation or groups:
    /// through <see cref="Kernel"/> for CPU tensors, libtorch's convolution otherwise. Keeps the input's memory format.
    /// </summary>
    internal static Tensor conv2d(Tensor x, Tensor weight, Tensor? bias, long[] stride)
    {
        if (x.device_type != DeviceType.CPU || Kernel == PointwiseKernel.OneDnn)
            return F.conv2d(x, weight, bias, stride);
        using var scope = NewDisposeScope();
        var batched = x.dim() == 4 ? x : x.unsqueeze(0);
        if (stride[0] != 1 || stride[1] != 1)
            batched = batched[TensorIndex.Colon, TensorIndex.Colon, TensorIndex.Slice(null, null, stride[0]), TensorIndex.Slice(null, null, stride[1])];
        var y = IsChannelsLast(batched)
            // NHWC memory: one (N*H*W, C) x (C, O) product, and the result is channels-last again.
            ? F.linear(batched.permute(0, 2, 3, 1), weight.flatten(1), bias).permute(0, 3, 1, 2)
            : NchwProduct(batched, weight, bias);
        return (x.dim() == 4 ? y : y.squeeze(0)).MoveToOuterDisposeScope();
    }

    /// <summary>(O, C) x (N, C, H*W) per image, so the output is contiguous NCHW like the input.</summary>
    static Tensor NchwProduct(Tensor x, Tensor weight, Tensor? bias)
    {
        var (n, h, w) = (x.shape[0], x.shape[2], x.shape[3]);
        var y = matmul(weight.flatten(1), x.reshape(n, x.shape[1], h * w)).view(n, -1, h, w);
        return bias is null ? y : y.add_(bias.view(1, -1, 1, 1), Scalars.One);
    }

    /// <summary>Whether the channels are the innermost dimension in memory (PyTorch's channels_last), not merely shaped so.</summary>
    static bool IsChannelsLast(Tensor x) => x.shape[1] > 1 && x.stride(1) == 1;

    static (PointwiseKernel, string) Choose()
    {
        var setting = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant();
        return setting switch
        {
            "onednn" => (PointwiseKernel.OneDnn, $"{EnvironmentVariable}=onednn"),
            "matmul" => (PointwiseKernel.MatMul, $"{EnvironmentVariable}=matmul"),
            null or "" or "auto" => Detect(),
            _ => throw new ArgumentException(
                $"{EnvironmentVariable} is '{setting}': set it to onednn, matmul or auto (the default), or unset it."),
        };
    }

    /// <summary>MatMul where oneDNN 3.7's 1x1 kernels fail or are untested: x86-64 CPUs that hide their cache sizes from cpuid, or are not Intel's.</summary>
    static (PointwiseKernel, string) Detect()
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64 || !X86Base.IsSupported)
            return (PointwiseKernel.OneDnn, $"{RuntimeInformation.ProcessArchitecture} CPU: oneDNN's x86-64 1x1 kernels are not used");
        var vendor = Vendor();
        if (vendor != "GenuineIntel")
            return (PointwiseKernel.MatMul, $"{vendor} CPU: oneDNN 3.7's 1x1 convolution kernels crash or miscompute on AMD (pytorch/pytorch#177227)");
        // Leaf 4, subleaf 0 is the L1 data cache; type 0 means cpuid lists no caches (some hypervisors zero it).
        if ((X86Base.CpuId(4, 0).Eax & 0x1f) == 0)
            return (PointwiseKernel.MatMul, "Intel CPU hiding its cache sizes from cpuid: oneDNN 3.7's 1x1 convolution kernels divide by zero there");
        return (PointwiseKernel.OneDnn, "Intel CPU with its caches visible: oneDNN's 1x1 convolution kernels are correct here");
    }

    static string Vendor()
    {
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<int> registers = [ebx, edx, ecx];
        return System.Text.Encoding.ASCII.GetString(MemoryMarshal.AsBytes(registers));
    }
}
