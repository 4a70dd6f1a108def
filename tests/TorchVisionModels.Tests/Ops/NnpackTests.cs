using TorchSharp;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Ops;

/// <summary>libtorch's "Could not initialize NNPACK!" warning, printed for every float64 convolution where NNPACK cannot initialise, is silenced.</summary>
public class NnpackTests
{
    /// <summary>In a child process, whose standard error is the test's to read.</summary>
    [Fact]
    public void Float64ForwardPrintsNoNnpackWarning()
    {
        var output = ChildProcess.Run(Float64Forward);
        Assert.DoesNotContain("NNPACK", output);
        Assert.Contains("logits [2, 10]", output);
    }

    static void Float64Forward(string[] _)
    {
        using var model = torchvision.models.resnet18(num_classes: 10);
        model.to(float64).eval();
        using var __ = no_grad();
        using var x = randn(2, 3, 64, 64, dtype: float64);
        using var logits = model.call(x);
        Console.WriteLine($"logits [{string.Join(", ", logits.shape)}]");
    }
}
