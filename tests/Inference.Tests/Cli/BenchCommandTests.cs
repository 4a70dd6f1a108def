using System.Text.Json;

namespace Inference.Tests.Cli;

/// <summary>A smoke test of <c>bench</c>: timing is for benchmarks, not tests, so only the report's shape is checked.</summary>
public class BenchCommandTests
{
    [Theory]
    [InlineData("torch", "true", "float32", false)]
    [InlineData("torch", "false", "float32", false)]
    [InlineData("torch", "true", "bfloat16", false)]
    [InlineData("onnxruntime", "true", "float32", false)]
    [InlineData("torch", "true", "float32", true)]
    public void ReportsEveryBatchSize(string backend, string fast, string dtype, bool train)
        // The 1x1 kernel is pinned, so the report's is known without asking the code under test which one it chose.
        => ChildProcess.Run(ReportsEveryBatchSizeInThisProcess, new Dictionary<string, string> { ["TORCHVISION_RESNET_POINTWISE_KERNEL"] = "matmul" },
            backend, fast, dtype, train.ToString());

    static void ReportsEveryBatchSizeInThisProcess(string[] parameters)
    {
        var (backend, fast, dtype, train) = (parameters[0], parameters[1], parameters[2], bool.Parse(parameters[3]));
        string[] arguments = ["bench", "--model", "resnet18", "--batch-size", "1,2", "--iters", "2", "--warmup", "1",
            "--input-size", "64", "--backend", backend, "--fast", fast, "--dtype", dtype, "--json", .. (train ? ["--train"] : Array.Empty<string>())];
        var (exitCode, output, error) = CliRunner.Run(arguments);

        Assert.True(exitCode == 0, error);
        var document = JsonDocument.Parse(output).RootElement;
        Assert.Equal(backend, document.GetProperty("backend").GetString());
        Assert.Equal(dtype, document.GetProperty("dtype").GetString());
        Assert.Equal(train ? "train" : "inference", document.GetProperty("mode").GetString());
        var pointwise = document.GetProperty("pointwise_convolutions");
        if (backend == "torch")
        {
            Assert.Equal("MatMul", pointwise.GetProperty("kernel").GetString());
            Assert.Equal("TORCHVISION_RESNET_POINTWISE_KERNEL=matmul", pointwise.GetProperty("reason").GetString());
        }
        else
            Assert.Equal(JsonValueKind.Null, pointwise.ValueKind);
        var rows = document.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([1, 2], rows.Select(r => r.GetProperty("batch_size").GetInt32()));
        Assert.All(rows, r =>
        {
            Assert.True(r.GetProperty("median_ms").GetDouble() > 0);
            Assert.Equal(r.GetProperty("batch_size").GetInt32() * 1000 / r.GetProperty("median_ms").GetDouble(), r.GetProperty("images_per_second").GetDouble(), 9);
            Assert.True(r.GetProperty("peak_rss_mb").GetDouble() > 0);
        });
    }

    /// <summary>A ResNet-50 training step: its 1x1 convolutions' backward killed the process on AMD CPUs (oneDNN), so in a child process.</summary>
    [Fact]
    public void TrainsResnet50() => ChildProcess.Run(TrainsResnet50InThisProcess);

    static void TrainsResnet50InThisProcess(string[] _)
    {
        var (exitCode, output, error) = CliRunner.Run("bench", "--train", "--model", "resnet50", "--batch-size", "2", "--input-size", "112", "--iters", "1", "--warmup", "0");
        Assert.True(exitCode == 0, error);
        Assert.Contains("resnet50, torch, cpu, float32, train, ", output);
    }

    [Theory]
    [InlineData("error: --train measures the float32 TorchSharp model: drop --backend and --dtype.", "--train", "--backend", "onnxruntime")]
    [InlineData("error: --train measures the float32 TorchSharp model: drop --backend and --dtype.", "--train", "--dtype", "bfloat16")]
    [InlineData("error: --dtype bfloat16: 16-bit types run on the fast path; use --fast true.", "--dtype", "bfloat16", "--fast", "false")]
    [InlineData("error: --dtype float16: the ONNX Runtime backend runs float32 and int8; use --backend torch.", "--dtype", "float16", "--backend", "onnxruntime")]
    [InlineData("error: --device cuda: the ONNX Runtime backend runs on the CPU; use --device cpu.", "--device", "cuda", "--backend", "onnxruntime")]
    [InlineData("--device must be auto, cpu, cuda or cuda:N, got 'gpu'", "--device", "gpu")]
    [InlineData("error: --device cuda: CUDA is not available (no GPU is visible, or this build uses TorchSharp's CPU backend: build with -p:TorchBackend=cuda).", "--device", "cuda")]
    public void RefusesCombinationsItCannotMeasure(string message, params string[] options)
    {
        var (exitCode, _, error) = CliRunner.Run(["bench", "--model", "resnet18", .. options]);
        Assert.Equal(2, exitCode);
        Assert.Equal(message, error.Trim());
    }

    [Fact]
    public void OnnxFileNeedsTheOnnxRuntimeBackend()
    {
        var (exitCode, _, error) = CliRunner.Run("bench", "--onnx", "model.onnx");
        Assert.Equal(2, exitCode);
        Assert.Equal("error: --onnx needs --backend onnxruntime.", error.Trim());
    }
}
