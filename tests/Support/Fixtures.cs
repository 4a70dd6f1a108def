using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using static TorchSharp.torch;

namespace TestSupport;

/// <summary>PyTorch's ground truth, written by tests/fixture_generator when the test project builds.</summary>
static class Fixtures
{
    public static readonly string Directory = Metadata("Fixtures");

    /// <summary>The repository's samples/ folder.</summary>
    public static readonly string Samples = Metadata("Samples");

    static string Metadata(string key) => typeof(Fixtures).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public static string PathOf(string name)
    {
        var path = Path.Combine(Directory, name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Missing fixture {path}: build the test project, which runs tests/fixture_generator, or run python3 -m fixture_generator {Directory} in tests/", path);
        return path;
    }

    public static JsonElement Json(string name) => JsonDocument.Parse(File.ReadAllText(PathOf(name))).RootElement;

    /// <summary>cases.json: what the generator generated, from which the theories take their cases.</summary>
    public static JsonElement Cases => cases.Value;

    static readonly Lazy<JsonElement> cases = new(() => Json("cases.json"));

    /// <summary>The strings of a list in cases.json, such as <c>Strings(Cases.GetProperty("architectures"))</c>.</summary>
    public static IEnumerable<string> Strings(JsonElement list) => list.EnumerateArray().Select(e => e.GetString()!);

    /// <summary>The arrays of a .npz the generator wrote with numpy, as tensors.</summary>
    public static Dictionary<string, Tensor> Arrays(string name) => Npz.Read(PathOf(name));

    /// <summary>Runs a script of scripts/ with the PyTorch interpreter; returns its exit code and output.</summary>
    public static (int exitCode, string output) RunPython(string script, params string[] arguments)
        => Run(Metadata("Python"), [Path.Combine(Metadata("Scripts"), script), .. arguments]);

    /// <summary>Runs <paramref name="program"/> to the end; its exit code, and its standard output followed by its standard error.</summary>
    public static (int exitCode, string output) Run(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + stderr.Result);
    }

    /// <summary>
    /// The suite's own torch.hub folder, fresh for each process and removed at its exit, so no test reads or fills the
    /// user's cache (classify caches its ONNX exports there).
    /// </summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void IsolateTorchHome()
    {
        var home = System.IO.Directory.CreateTempSubdirectory("torch-home-suite-");
        Environment.SetEnvironmentVariable("TORCH_HOME", home.FullName);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            // An exception here would crash the test host at exit, after the last tests ran but before their results reached the runner.
            try
            {
                home.Delete(recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        };
    }

    /// <summary>Runs <paramref name="test"/> with TORCH_HOME (process-wide) set to a fresh folder, removed afterwards.</summary>
    public static void WithTorchHome(Action<DirectoryInfo> test)
    {
        var home = System.IO.Directory.CreateTempSubdirectory("torch-home-");
        var previous = Environment.GetEnvironmentVariable("TORCH_HOME");
        try
        {
            Environment.SetEnvironmentVariable("TORCH_HOME", home.FullName);
            test(home);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TORCH_HOME", previous);
            home.Delete(recursive: true);
        }
    }

    /// <summary>SHA-256 of bytes, in lower-case hex as Python's hexdigest() gives it.</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));

    /// <summary>SHA-256 of a float32 or int64 tensor's little-endian bytes, as numpy's tobytes() gives them.</summary>
    public static string Sha256(Tensor t)
    {
        using var c = t.contiguous();
        return t.dtype switch
        {
            ScalarType.Float32 => Sha256(System.Runtime.InteropServices.MemoryMarshal.AsBytes(c.data<float>().ToArray().AsSpan())),
            ScalarType.Int64 => Sha256(System.Runtime.InteropServices.MemoryMarshal.AsBytes(c.data<long>().ToArray().AsSpan())),
            var other => throw new NotSupportedException($"no digest for {other}"),
        };
    }

    public static bool BitIdentical(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }

    /// <summary>Largest absolute difference relative to the largest absolute reference value.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var scale = expected.to(float64).abs().max().item<double>();
        return (actual.to(float64) - expected.to(float64)).abs().max().item<double>() / (scale == 0 ? 1 : scale);
    }

    /// <summary>
    /// How far from the exact (float64) answer a float32 result may land, in multiples of PyTorch's own float32
    /// error. Two float32 implementations that sum in different orders err by about the same amount, in different
    /// directions; measured on AMD EPYC (1x1 convolutions as matrix products), the port's error was at most
    /// 1.2x PyTorch's over the forward cases and 1.02x over the training gradients.
    /// </summary>
    public const double Float32Slack = 4;

    /// <summary>The tolerance for a float32 result against the exact answer: <see cref="Float32Slack"/> times PyTorch's float32 error, and at least 1e-6 (float32's resolution after a few roundings).</summary>
    public static double Float32Tolerance(double pytorchError) => Math.Max(Float32Slack * pytorchError, 1e-6);

    /// <summary>Asserts that a float32 <paramref name="actual"/> is no further from <paramref name="exact"/> than <see cref="Float32Tolerance"/> allows, given PyTorch's float32 <paramref name="pytorch"/>.</summary>
    public static void AssertFloat32Close(string what, Tensor actual, Tensor pytorch, Tensor exact)
    {
        Assert.Equal(exact.shape, actual.shape);
        var (error, pytorchError) = (RelativeError(actual, exact), RelativeError(pytorch, exact));
        var tolerance = Float32Tolerance(pytorchError);
        Assert.True(error <= tolerance, $"{what}: relative error {error:E2} from the exact answer exceeds {tolerance:E2} ({Float32Slack}x PyTorch's float32 error, {pytorchError:E2})");
    }

    /// <summary>Calls <paramref name="forward"/> once to warm up, then three times, and asserts no tensor outlives the calls.</summary>
    public static void AssertNoLiveTensorsAfter(Action forward)
    {
        forward();
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 3; i++)
            forward();
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    public static void DisposeAll(IEnumerable<Tensor> tensors)
    {
        foreach (var tensor in tensors)
            tensor.Dispose();
    }
}
