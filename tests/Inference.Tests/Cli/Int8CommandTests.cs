using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchVisionModels.Classification;

namespace Inference.Tests.Cli;

/// <summary>
/// int8 from the command line: <c>export --quantize int8</c> and <c>--dtype int8</c> calibrate on a folder of images,
/// the file records how, the cached export and the exported file classify alike, and each bad input gets one message.
/// </summary>
public class Int8CommandTests
{
    static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");
    static readonly string Calibration = Path.Combine(Fixtures.Directory, "calibration");
    static readonly string[] Photos = [.. Directory.GetFiles(Calibration).Order(StringComparer.Ordinal)];

    [Fact]
    public void ExportedFileRecordsItsCalibrationAndClassifiesAsTheCachedExport()
    {
        var path = Path.Combine(Path.GetTempPath(), $"resnet18-int8-{Guid.NewGuid():N}.onnx");
        try
        {
            var (exitCode, output, error) = CliRunner.Run("export", "--model", "resnet18", "--weights", Weights, "--quantize", "int8",
                "--calibration", Calibration, "--calibration-count", "4", "--out", path);
            Assert.True(exitCode == 0, error);
            Assert.StartsWith($"wrote {path} (resnet18, forward_resnet18.weights.pt, int8 calibrated on 4 images by minmax, ", output);

            using (var source = ModelSource.Load(null, path))
                Assert.Equal(new TorchVisionModels.ModelCard.Int8Calibration("minmax", 4, ExpectedSha256("minmax", Photos[0], Photos[2], Photos[4], Photos[6])), source.Quantization);

            var fromFile = CliRunner.Run(["classify", "--weights", path, "--json", .. Photos]);
            var cached = CliRunner.Run(["classify", "--model", "resnet18", "--weights", Weights, "--dtype", "int8", "--calibration", Calibration, "--calibration-count", "4", "--json", .. Photos]);
            Assert.True(fromFile.exitCode == 0, fromFile.error);
            Assert.True(cached.exitCode == 0, cached.error);
            Assert.Equal(Top(fromFile.output), Top(cached.output));
            Assert.Equal("onnxruntime (auto: int8 runs on ONNX Runtime)", JsonDocument.Parse(cached.output).RootElement.GetProperty("backend").GetString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The calibration's name as its definition gives it: the method, then each image's path below the folder and its bytes' SHA-256.</summary>
    static string ExpectedSha256(string method, params string[] files)
    {
        var text = new List<byte>(Encoding.UTF8.GetBytes(method));
        foreach (var file in files)
            text.AddRange([.. Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"), .. SHA256.HashData(File.ReadAllBytes(file))]);
        return Convert.ToHexStringLower(SHA256.HashData(text.ToArray()));
    }

    static string[] Top(string json) => [.. JsonDocument.Parse(json).RootElement.GetProperty("results").EnumerateArray()
        .Select(r => string.Join(",", r.GetProperty("top").EnumerateArray().Select(t => $"{t.GetProperty("index").GetInt64()}:{t.GetProperty("probability").GetDouble():R}")))];

    [Theory]
    [InlineData("--dtype int8", "error: --dtype int8: int8 quantizes the model on calibration images like those it will classify, or runs an int8 .onnx file; use --calibration DIR.")]
    [InlineData("--dtype int8 --calibration {calibration}", "error: --calibration {calibration}: it holds 8 images, fewer than the 256 asked for; use --calibration-count 8.")]
    [InlineData("--dtype int8 --calibration {missing}", "error: --calibration {missing}: no such folder: give a folder of images like those the model will classify.")]
    [InlineData("--dtype int8 --calibration {empty}", "error: --calibration {empty}: it holds no images, in it or its subfolders.")]
    [InlineData("--dtype int8 --calibration {corrupt} --calibration-count 1", "error: --calibration {corrupt}: {corrupt}/broken.png is not a JPEG, PNG, BMP, GIF or WebP image.")]
    [InlineData("--dtype int8 --backend torch --calibration {calibration}", "error: --dtype int8: int8 runs on ONNX Runtime; use --backend onnxruntime.")]
    [InlineData("--calibration {calibration}", "error: --calibration {calibration}: calibration images quantize the model to int8; use --dtype int8.")]
    [InlineData("--calibration-count 4", "error: --calibration-count and --calibration-method go with --calibration DIR, the images to calibrate on.")]
    public void BadInputsAreNamed(string options, string message)
    {
        var folders = Directory.CreateTempSubdirectory("int8-inputs-");
        try
        {
            var (missing, empty, corrupt) = (Path.Combine(folders.FullName, "missing"), Directory.CreateDirectory(Path.Combine(folders.FullName, "empty")).FullName,
                Directory.CreateDirectory(Path.Combine(folders.FullName, "corrupt")).FullName);
            File.WriteAllBytes(Path.Combine(corrupt, "broken.png"), [0x89, (byte)'P', (byte)'N', (byte)'G', 0, 1, 2, 3]);
            string Fill(string text) => text.Replace("{calibration}", Calibration).Replace("{missing}", missing).Replace("{empty}", empty).Replace("{corrupt}", corrupt);
            var (exitCode, _, error) = CliRunner.Run(["classify", "--model", "resnet18", "--weights", Weights, .. Fill(options).Split(' '), Photos[0]]);
            Assert.Equal(2, exitCode);
            Assert.Equal(Fill(message), error.Trim());
        }
        finally
        {
            folders.Delete(recursive: true);
        }
    }

    [Fact]
    public void AFloatOnnxFileIsNotRunAsInt8()
    {
        var path = Path.Combine(Path.GetTempPath(), $"resnet18-{Guid.NewGuid():N}.onnx");
        try
        {
            Assert.Equal(0, CliRunner.Run("export", "--model", "resnet18", "--weights", Weights, "--out", path).exitCode);
            var (exitCode, _, error) = CliRunner.Run("classify", "--weights", path, "--dtype", "int8", Photos[0]);
            Assert.Equal(2, exitCode);
            Assert.Equal($"error: --weights {path}: it is a float32 model, not an int8 one; use --dtype float32.", error.Trim());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("--calibration {calibration}", "error: --calibration quantizes the model: add --quantize int8.")]
    [InlineData("--quantize int8", "error: --quantize int8 calibrates on images like those the model will classify: add --calibration DIR.")]
    public void ExportNeedsBothQuantizeAndCalibration(string options, string message)
    {
        var path = Path.Combine(Path.GetTempPath(), $"resnet18-{Guid.NewGuid():N}.onnx");
        var (exitCode, _, error) = CliRunner.Run(["export", "--model", "resnet18", "--weights", Weights, "--out", path, .. options.Replace("{calibration}", Calibration).Split(' ')]);
        Assert.Equal(2, exitCode);
        Assert.Equal(message, error.Trim());
        Assert.False(File.Exists(path));
    }
}
