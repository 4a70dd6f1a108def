using System.Text.Json;
using TorchVisionModels.Serialization;

namespace Inference.Tests.Cli;

/// <summary><c>classify</c> end to end on samples/: PyTorch's labels and probabilities, clear errors, honest exit codes.</summary>
public class ClassifyCommandTests
{
    static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");

    /// <summary>The default backend for float32 on the CPU is ONNX Runtime, on our cached export.</summary>
    [Fact]
    public void JsonEqualsPyTorchsTop5() => AssertPyTorchsTop5("--weights", Weights);

    [Fact]
    public void TorchSharpFastPathEqualsPyTorchsTop5() => AssertPyTorchsTop5("--weights", Weights, "--backend", "torch");

    /// <summary>--threads sets libtorch's thread count, process-wide, so in a child process.</summary>
    [Fact]
    public void ThreadsSetsTheTorchBackendsThreads() => ChildProcess.Run(OneThread);

    static void OneThread(string[] _)
    {
        AssertPyTorchsTop5("--weights", Weights, "--backend", "torch", "--threads", "1");
        Assert.Equal(1, TorchSharp.torch.get_num_threads());
    }

    /// <summary>ResNet-50 on TorchSharp's fast path: channels-last 1x1 convolutions, which killed the process on AMD CPUs (oneDNN), so in a child process.</summary>
    [Fact]
    public void Resnet50OnTheFastPathEqualsPyTorchsTop5() => ChildProcess.Run(Resnet50EqualsPyTorchsTop5);

    static void Resnet50EqualsPyTorchsTop5(string[] _)
    {
        // The forward case's weights, rebuilt from the seed (proven PyTorch's by their digests) and saved as torch.save does.
        var directory = Directory.CreateTempSubdirectory("classify-resnet50-");
        try
        {
            var path = Path.Combine(directory.FullName, "forward_resnet50.weights.pt");
            using (var model = ModelCases.Forward("resnet50"))
                model.SaveStateDict(path);
            AssertModelsTop5("resnet50", "--weights", path, "--backend", "torch");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void OnnxRuntimeBackendEqualsPyTorchsTop5() => AssertPyTorchsTop5("--weights", Weights, "--backend", "onnxruntime");

    [Fact]
    public void ExportedOnnxFileClassifiesOnItsOwn()
    {
        var path = Path.Combine(Path.GetTempPath(), $"resnet18-{Guid.NewGuid():N}.onnx");
        try
        {
            var (exitCode, output, error) = CliRunner.Run("export", "--model", "resnet18", "--weights", Weights, "--out", path, "--fold-bn");
            Assert.True(exitCode == 0, error);
            Assert.StartsWith($"wrote {path} (resnet18, forward_resnet18.weights.pt, ", output);
            AssertPyTorchsTop5("--weights", path, "--backend", "onnxruntime");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Bfloat16KeepsPyTorchsTop1()
    {
        var (exitCode, output, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--dtype", "bfloat16", "--json", Fixtures.Samples);

        Assert.True(exitCode == 0, error);
        var expected = Fixtures.Json("classification.json");
        foreach (var result in JsonDocument.Parse(output).RootElement.GetProperty("results").EnumerateArray())
        {
            var theirs = expected.GetProperty(Path.GetFileName(result.GetProperty("file").GetString()!))[0];
            var ours = result.GetProperty("top")[0];
            Assert.Equal(theirs.GetProperty("index").GetInt64(), ours.GetProperty("index").GetInt64());
            // bfloat16 keeps 8 significant bits; measured on these images: at most 2.9e-3 from PyTorch's float32.
            Assert.InRange(ours.GetProperty("probability").GetDouble() - theirs.GetProperty("probability").GetDouble(), -5e-3, 5e-3);
        }
    }

    [Fact]
    public void OnnxFileOfAnotherInputSizeIsNamed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"resnet18-{Guid.NewGuid():N}.onnx");
        try
        {
            Assert.Equal(0, CliRunner.Run("export", "--model", "resnet18", "--weights", Weights, "--out", path).exitCode);
            var (exitCode, _, error) = CliRunner.Run("classify", "--weights", path, "--crop-size", "32", Path.Combine(Fixtures.Samples, "cat.png"));
            Assert.Equal(2, exitCode);
            Assert.Equal($"error: {path} was exported for 224x224 images, not the 32x32 crop asked for: classify with its own crop size, or export it with --dynamic-size.", error.Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void OnnxFileNeedsTheOnnxRuntimeBackend()
    {
        // Refused before the file is read: its contents do not matter.
        var path = Path.Combine(Path.GetTempPath(), $"model-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, []);
        try
        {
            var (exitCode, _, error) = CliRunner.Run("classify", "--weights", path, "--backend", "torch", Path.Combine(Fixtures.Samples, "cat.png"));
            Assert.Equal(2, exitCode);
            Assert.Equal($"error: --weights {path}: an ONNX model runs on ONNX Runtime; use --backend onnxruntime.", error.Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The first run exports to torch.hub's folder; the next opens that file; a broken one is exported again.</summary>
    [Fact]
    public void OnnxExportsAreCachedAndCheckedOnOpening() => Fixtures.WithTorchHome(home =>
    {
        var cache = Path.Combine(home.FullName, "hub", "onnx");
        string[] Classify() => [.. CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--json", Path.Combine(Fixtures.Samples, "cat.png")).output
            .Split('\n').Where(line => line.Contains("\"probability\""))];

        var first = Classify();
        var file = Assert.Single(Directory.GetFiles(cache));
        Assert.Matches(@"/resnet18-[0-9a-f]{32}\.onnx$", file);
        var written = File.GetLastWriteTimeUtc(file);

        Assert.Equal(first, Classify());
        Assert.Equal(written, File.GetLastWriteTimeUtc(file));

        File.WriteAllBytes(file, new byte[100]);
        Assert.Equal(first, Classify());
        Assert.Equal([file], Directory.GetFiles(cache));
        Assert.True(new FileInfo(file).Length > 1 << 20, "the broken file was exported again");
    });

    [Fact]
    public void VerboseSaysWhichBackendRanAndWhy()
    {
        var (exitCode, _, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--verbose", Path.Combine(Fixtures.Samples, "cat.png"));
        Assert.True(exitCode == 0, error);
        Assert.Equal("forward_resnet18.weights.pt on cpu in float32, backend onnxruntime (auto: the fastest measured for float32 on the CPU)", error.Trim());
    }

    static void AssertPyTorchsTop5(params string[] options) => AssertModelsTop5("resnet18", options);

    static void AssertModelsTop5(string model, params string[] options)
    {
        var (exitCode, output, error) = CliRunner.Run(["classify", "--model", model, "--json", "--batch-size", "2", .. options, Fixtures.Samples]);

        Assert.True(exitCode == 0, error);
        var document = JsonDocument.Parse(output).RootElement;
        Assert.Equal(model, document.GetProperty("model").GetString());
        Assert.Equal($"forward_{model}.weights.pt", document.GetProperty("weights").GetString());
        Assert.Equal("cpu", document.GetProperty("device").GetString());
        var backendIndex = Array.IndexOf(options, "--backend");
        Assert.Equal(backendIndex < 0 ? "onnxruntime (auto: the fastest measured for float32 on the CPU)" : $"{options[backendIndex + 1]} (--backend {options[backendIndex + 1]})",
            document.GetProperty("backend").GetString());
        var expected = Fixtures.Json(model == "resnet18" ? "classification.json" : $"classification_{model}.json");
        var results = document.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(expected.EnumerateObject().Select(p => Path.Combine(Fixtures.Samples, p.Name)), results.Select(r => r.GetProperty("file").GetString()));
        foreach (var result in results)
        {
            var name = Path.GetFileName(result.GetProperty("file").GetString()!);
            var theirs = expected.GetProperty(name).EnumerateArray().ToList();
            var ours = result.GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(theirs.Select(t => t.GetProperty("label").GetString()), ours.Select(o => o.GetProperty("label").GetString()));
            Assert.Equal(theirs.Select(t => t.GetProperty("index").GetInt64()), ours.Select(o => o.GetProperty("index").GetInt64()));
            // Preprocessing is exact, PNG and JPEG alike, so only the networks' float arithmetic remains: measured at
            // most 2.2e-7 (resnet18) and 5e-17 (resnet50, whose seeded weights give near-certain top-1s) on AMD EPYC.
            foreach (var (t, o) in theirs.Zip(ours))
                Assert.InRange(o.GetProperty("probability").GetDouble() - t.GetProperty("probability").GetDouble(), -2e-5, 2e-5);
        }
    }

    [Fact]
    public void TablePrintsRankProbabilityAndLabel()
    {
        var cat = Path.Combine(Fixtures.Samples, "cat.png");
        var (exitCode, output, _) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--topk", "2", cat);

        Assert.Equal(0, exitCode);
        var top = Fixtures.Json("classification.json").GetProperty("cat.png").EnumerateArray().Take(2).ToList();
        Assert.Equal(
            [cat, "   #  probability  label",
             $"   1  {top[0].GetProperty("probability").GetDouble(),11:F6}  {top[0].GetProperty("label").GetString()}",
             $"   2  {top[1].GetProperty("probability").GetDouble(),11:F6}  {top[1].GetProperty("label").GetString()}", ""],
            output.Split(Environment.NewLine)[..5]);
    }

    [Fact]
    public void BadFilesAreReportedAndTheRestStillRun()
    {
        var truncated = Path.Combine(Fixtures.Directory, "images", "chelsea_truncated.png");
        var (exitCode, output, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--json",
            "/nonexistent/dog.png", truncated, Path.Combine(Fixtures.Samples, "cat.png"));

        Assert.Equal(1, exitCode);
        Assert.Equal("", error);
        var results = JsonDocument.Parse(output).RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal("/nonexistent/dog.png does not exist.", results[0].GetProperty("error").GetString());
        Assert.Equal($"{truncated} is truncated: its PNG data ends early. Copy or download it again.", results[1].GetProperty("error").GetString());
        Assert.Equal(5, results[2].GetProperty("top").GetArrayLength());
    }

    [Theory]
    [InlineData("--weights", "IMAGENET1K_V9", "error: --weights IMAGENET1K_V9: neither a file nor weights of resnet18 (DEFAULT, IMAGENET1K_V1).")]
    [InlineData("--device", "cuda", "error: --device cuda: CUDA is not available (no GPU is visible, or this build uses TorchSharp's CPU backend: build with -p:TorchBackend=cuda).")]
    [InlineData("--topk", "1001", "error: --topk 1001 is more than the model's 1000 classes.")]
    public void BadOptionsGetOneLine(string option, string value, string message)
    {
        var args = new List<string> { "classify", "--model", "resnet18", option, value, Path.Combine(Fixtures.Samples, "cat.png") };
        if (option != "--weights")
            args.InsertRange(3, ["--weights", Weights]);
        var (exitCode, output, error) = CliRunner.Run([.. args]);

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Equal(message, error.Trim());
    }

    /// <summary>A fine-tuned model of three classes shows all three by default; asking for more is still an error.</summary>
    [Fact]
    public void AModelWithFewerThanFiveClassesShowsThemAllByDefault()
    {
        var directory = Directory.CreateTempSubdirectory("classify-three-classes-");
        try
        {
            var weights = Path.Combine(directory.FullName, "best.pt");
            var categories = Path.Combine(directory.FullName, "categories.json");
            using (var model = torchvision.models.resnet18(num_classes: 3))
                model.SaveStateDict(weights);
            File.WriteAllText(categories, "[\"ant\", \"bee\", \"wasp\"]");
            string[] Classify(params string[] options)
            {
                var (exitCode, output, error) = CliRunner.Run(["classify", "--model", "resnet18", "--weights", weights, "--categories", categories, "--json", .. options,
                    Path.Combine(Fixtures.Samples, "cat.png")]);
                Assert.True(exitCode == 0, error);
                return [.. JsonDocument.Parse(output).RootElement.GetProperty("results")[0].GetProperty("top").EnumerateArray().Select(p => p.GetProperty("label").GetString()!)];
            }

            Assert.Equal(["ant", "bee", "wasp"], Classify().Order(StringComparer.Ordinal));
            Assert.Equal(2, Classify("--topk", "2").Length);
            var (exitCode, _, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", weights, "--categories", categories, "--topk", "5",
                Path.Combine(Fixtures.Samples, "cat.png"));
            Assert.Equal(2, exitCode);
            Assert.Equal("error: --topk 5 is more than the model's 3 classes.", error.Trim());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void OfflineWithoutCachedWeightsSaysWhatToDo() => Fixtures.WithTorchHome(home =>
    {
        var (exitCode, _, error) = CliRunner.Run("classify", "--model", "resnet18", Path.Combine(Fixtures.Samples, "cat.png"));

        Assert.Equal(2, exitCode);
        Assert.StartsWith("error: Cannot download https://download.pytorch.org/models/resnet18-f37072fd.pth (", error);
        Assert.Contains($"Offline, put the file at {Path.Combine(home.FullName, "hub", "checkpoints", "resnet18-f37072fd.pth")}", error);
        Assert.Empty(home.GetFiles("*", SearchOption.AllDirectories));
    });
}
