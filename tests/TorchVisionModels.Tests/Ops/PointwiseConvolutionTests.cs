using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TorchVisionModels.Tests.Ops;

/// <summary>
/// 1x1 convolutions are correct on every CPU: the cases where libtorch 2.10's oneDNN crashes (SIGFPE) or miscomputes
/// on AMD EPYC, each checked against float64, which libtorch computes without oneDNN. Each runs in a child process,
/// with the kernel this CPU gets by default and with the matrix-product kernel forced, so both are checked on every machine.
/// </summary>
public class PointwiseConvolutionTests
{
    /// <summary>Input shape, output channels, stride, channels-last, dtype, and whether to check the backward pass.</summary>
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var kernel in new[] { "auto", "matmul" })
        {
            data.Add("1x256x14x14 to 1024, channels-last", kernel);          // oneDNN: SIGFPE in brgconv_1x1's est_eff_1x1
            data.Add("1x256x14x14 to 512 stride 2, channels-last", kernel);  // oneDNN: 0.43 relative error
            data.Add("3x1024x6x8 to 2048 stride 2, backward", kernel);       // oneDNN: SIGFPE in the backward's est_eff_1x1
            data.Add("1x1536x1x32 to 32", kernel);                           // pytorch/pytorch#177227
            data.Add("2x512x14x14 to 1024, channels-last, bfloat16", kernel);// oneDNN: SIGFPE in bfloat16 too
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesFloat64(string @case, string kernel)
        => ChildProcess.Run(MatchesFloat64InThisProcess, new Dictionary<string, string> { [PointwiseConvolution.EnvironmentVariable] = kernel }, @case);

    static void MatchesFloat64InThisProcess(string[] arguments)
    {
        var @case = arguments[0];
        var words = @case.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries);
        var shape = words[0].Split('x').Select(long.Parse).ToArray();
        var outChannels = long.Parse(words[2]);
        var stride = @case.Contains("stride 2") ? 2 : 1;
        var dtype = @case.Contains("bfloat16") ? ScalarType.BFloat16 : ScalarType.Float32;

        manual_seed(0);
        using var conv = new PointwiseConv2d(shape[1], outChannels, stride, bias: true);
        conv.to(dtype);
        using var scope = NewDisposeScope();
        var x = randn(shape).to(dtype);
        if (@case.Contains("channels-last"))
            x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        x.requires_grad = @case.Contains("backward");

        var y = conv.call(x);
        // float64 goes through libtorch's reference convolution, never oneDNN.
        var x64 = x.detach().to(float64).requires_grad_(x.requires_grad);
        var w64 = conv.weight!.detach().to(float64).requires_grad_(x.requires_grad);
        var y64 = F.conv2d(x64, w64, conv.bias!.detach().to(float64), [stride, stride]);

        // Measured: float32 within 1e-6, bfloat16 within 4e-3 (its 8-bit mantissa, rounded once at the output).
        var tolerance = dtype == ScalarType.Float32 ? 1e-5 : 1.5e-2;
        Assert.Equal(y64.shape, y.shape);
        AssertClose("output", y, y64, tolerance);
        Assert.Equal(x.stride(1) == 1, y.stride(1) == 1);

        if (x.requires_grad)
        {
            var gradient = randn(y.shape);
            y.backward([gradient]);
            y64.backward([gradient.to(float64)]);
            AssertClose("input gradient", x.grad!, x64.grad!, tolerance);
            AssertClose("weight gradient", conv.weight!.grad!, w64.grad!, tolerance);
        }
    }

    static void AssertClose(string what, Tensor actual, Tensor expected, double tolerance)
    {
        var error = Fixtures.RelativeError(actual, expected);
        Assert.True(error <= tolerance, $"{what}: relative error {error:E2} from float64 exceeds {tolerance:E0} ({PointwiseConvolution.Kernel}: {PointwiseConvolution.Reason})");
    }

    [Theory]
    [InlineData("onednn", PointwiseKernel.OneDnn)]
    [InlineData("matmul", PointwiseKernel.MatMul)]
    [InlineData(" MatMul ", PointwiseKernel.MatMul)]
    public void TheEnvironmentVariableOverridesTheChoice(string value, PointwiseKernel expected)
        => ChildProcess.Run(KernelIs, new Dictionary<string, string> { [PointwiseConvolution.EnvironmentVariable] = value }, expected.ToString());

    static void KernelIs(string[] arguments)
    {
        Assert.Equal(Enum.Parse<PointwiseKernel>(arguments[0]), PointwiseConvolution.Kernel);
        Assert.StartsWith(PointwiseConvolution.EnvironmentVariable + "=", PointwiseConvolution.Reason);
    }

    [Fact]
    public void AnUnknownSettingIsRefusedWithItsName()
        => ChildProcess.Run(UnknownSettingThrows, new Dictionary<string, string> { [PointwiseConvolution.EnvironmentVariable] = "fast" });

    static void UnknownSettingThrows(string[] _)
    {
        var e = Assert.Throws<ArgumentException>(() => PointwiseConvolution.Kernel);
        Assert.Equal("TORCHVISION_RESNET_POINTWISE_KERNEL is 'fast': set it to onednn, matmul or auto (the default), or unset it.", e.Message);
    }

    /// <summary>The CPU's vendor, read from /proc/cpuinfo rather than cpuid, decides the default on x86-64.</summary>
    [Fact]
    public void AmdCpusGetTheMatrixProductByDefault()
        => ChildProcess.Run(DefaultFollowsTheVendor, new Dictionary<string, string> { [PointwiseConvolution.EnvironmentVariable] = "auto" });

    static void DefaultFollowsTheVendor(string[] _)
    {
        var vendor = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("vendor_id")).Split(':')[1].Trim();
        if (vendor == "GenuineIntel")
        {
            Assert.StartsWith("Intel CPU", PointwiseConvolution.Reason);
            return;
        }
        Assert.Equal(PointwiseKernel.MatMul, PointwiseConvolution.Kernel);
        Assert.StartsWith($"{vendor} CPU: ", PointwiseConvolution.Reason);
    }

    /// <summary>torchvision's conv1x1 is an nn.Conv2d: the same parameters, keys and initial weights as TorchSharp's Conv2d.</summary>
    [Fact]
    public void IsAConv2dWithA1x1Kernel()
    {
        manual_seed(7);
        using var expected = nn.Conv2d(64, 256, kernel_size: 1, stride: 2, bias: false);
        manual_seed(7);
        using var actual = Convolutions.conv1x1(64, 256, stride: 2);

        Assert.Equal(["weight"], actual.state_dict().Keys);
        Assert.True(Fixtures.BitIdentical(actual.weight!, expected.weight!));
        Assert.Equal(expected.GetName(), actual.GetName());
        Assert.Equal([1L, 1], actual.kernel_size);
        Assert.Equal([2L, 2], actual.stride);
        Assert.IsAssignableFrom<Convolution>(actual);
    }

    [Fact]
    public void RefusesInputsThatAreNot3Or4Dimensional()
    {
        using var conv = Convolutions.conv1x1(4, 8);
        using var x = zeros(2, 4);
        var e = Assert.Throws<ArgumentException>(() => conv.call(x));
        Assert.Equal("Conv2d expects a 3-D (unbatched) or 4-D (batched) input, got 2-D [2, 4].", e.Message);
    }

    [Fact]
    public void UnbatchedInputGivesTheBatchedResult()
    {
        using var conv = Convolutions.conv1x1(4, 8, stride: 2);
        using var scope = NewDisposeScope();
        var x = randn(4, 6, 6);
        Assert.True(Fixtures.BitIdentical(conv.call(x), conv.call(x.unsqueeze(0)).squeeze(0)));
    }
}
