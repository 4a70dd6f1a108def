using System.Text.Json;

namespace TorchVisionModels.Tests.Cli;

/// <summary>A smoke test of <c>bench</c>: timing is for benchmarks, not tests, so only the report's shape is checked.</summary>
public class BenchCommandTests
{
    [Theory]
    [InlineData("torch", "true")]
    [InlineData("torch", "false")]
    [InlineData("onnxruntime", "true")]
    public void ReportsEveryBatchSize(string backend, string fast)
    {
        var (exitCode, output, error) = CliRunner.Run("bench", "--model", "resnet18", "--batch-size", "1,2", "--iters", "2", "--warmup", "1",
            "--input-size", "64", "--backend", backend, "--fast", fast, "--json");

        Assert.True(exitCode == 0, error);
        var document = JsonDocument.Parse(output).RootElement;
        Assert.Equal(backend, document.GetProperty("backend").GetString());
        var rows = document.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([1, 2], rows.Select(r => r.GetProperty("batch_size").GetInt32()));
        Assert.All(rows, r =>
        {
            Assert.True(r.GetProperty("median_ms").GetDouble() > 0);
            Assert.True(r.GetProperty("p90_ms").GetDouble() >= r.GetProperty("median_ms").GetDouble());
            Assert.True(r.GetProperty("peak_rss_mb").GetDouble() > 0);
        });
    }

    [Fact]
    public void OnnxFileNeedsTheOnnxRuntimeBackend()
    {
        var (exitCode, _, error) = CliRunner.Run("bench", "--onnx", "model.onnx");
        Assert.Equal(2, exitCode);
        Assert.Equal("error: --onnx needs --backend onnxruntime.", error.Trim());
    }
}
