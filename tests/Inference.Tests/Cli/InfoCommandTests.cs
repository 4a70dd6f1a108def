namespace Inference.Tests.Cli;

public class InfoCommandTests
{
    // The kernel is pinned, so the last line is known without asking the code under test which one it chose.
    [Fact]
    public void PrintsParametersAndStageShapes()
        => ChildProcess.Run(PrintsParametersAndStageShapesInThisProcess, new Dictionary<string, string> { ["TORCHVISION_RESNET_POINTWISE_KERNEL"] = "matmul" });

    static void PrintsParametersAndStageShapesInThisProcess(string[] _)
    {
        var (exitCode, output, _) = CliRunner.Run("info", "--model", "resnet50", "--input-size", "64", "--num-classes", "10");
        Assert.Equal(0, exitCode);
        Assert.Equal(
            ["resnet50: 23,528,522 parameters, 320 state_dict entries", "  input    [1, 3, 64, 64]", "  stem     [1, 64, 16, 16]",
             "  layer1   [1, 256, 16, 16]", "  layer2   [1, 512, 8, 8]", "  layer3   [1, 1024, 4, 4]", "  layer4   [1, 2048, 2, 2]", "  fc       [1, 10]",
             "1x1 convolutions on the CPU: MatMul (TORCHVISION_RESNET_POINTWISE_KERNEL=matmul)", ""],
            output.Split(Environment.NewLine));
    }

    /// <summary>Which kernel runs 1x1 convolutions, and why, as the issue of oneDNN on AMD CPUs makes it matter.</summary>
    [Fact]
    public void SaysWhichKernelRuns1x1ConvolutionsAndWhy()
        => ChildProcess.Run(InfoNamesTheOverride, new Dictionary<string, string> { [PointwiseConvolution.EnvironmentVariable] = "matmul" });

    static void InfoNamesTheOverride(string[] _)
    {
        var (exitCode, output, _) = CliRunner.Run("info", "--model", "resnet18", "--input-size", "32");
        Assert.Equal(0, exitCode);
        Assert.EndsWith($"1x1 convolutions on the CPU: MatMul (TORCHVISION_RESNET_POINTWISE_KERNEL=matmul){Environment.NewLine}", output);
    }

    [Fact]
    public void TorchvisionsErrorsAreOneLine()
    {
        var (exitCode, output, error) = CliRunner.Run("info", "--model", "resnet18", "--replace-stride-with-dilation", "false,false,true");
        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Equal("error: Dilation > 1 not supported in BasicBlock", error.Trim());
    }
}
