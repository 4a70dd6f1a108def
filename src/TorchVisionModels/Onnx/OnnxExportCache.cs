using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TorchVisionModels.Onnx;

/// <summary>
/// Exported models kept between runs, in torch.hub's folder (<c>$TORCH_HOME/hub/onnx</c>), so only the first run of
/// a model pays for the export and for ONNX Runtime's graph optimisation (1.4 s of ResNet-50's start-up; the saved
/// optimised graph opens in 30 ms). That graph is tuned to the CPU (blocked layouts for its vector width), so a
/// file's name is keyed by a SHA-256 of the weights file's bytes, of everything that changes the graph
/// (architecture, metadata, input size, folding, opset, this program's version) and of the machine (CPU, ONNX
/// Runtime's version). It is written under a temporary name and renamed; one that does not open, or whose key does
/// not match, is made again.
/// </summary>
public static class OnnxExportCache
{
    /// <summary>The metadata entry that holds the key, checked when the file is opened.</summary>
    public const string KeyEntry = "cache_key";

    /// <summary>Where the exports are kept: <c>onnx</c> in torch.hub's folder.</summary>
    public static string Directory => Path.Combine(Hub.get_dir(), "onnx");

    /// <summary>The cache key of an export of <paramref name="weightsFile"/> with these settings.</summary>
    /// <param name="weightsFile">The weights.</param>
    /// <param name="model">Everything else that describes the model: architecture and options, categories, preprocessing.</param>
    /// <param name="size">The input's side.</param>
    /// <param name="fold">Norm layers folded.</param>
    /// <param name="opset">The ONNX opset.</param>
    public static string Key(string weightsFile, string model, int size, bool fold, int opset)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var weights = File.OpenRead(weightsFile))
        {
            var buffer = new byte[1 << 20];
            for (int read; (read = weights.Read(buffer)) > 0;)
                hash.AppendData(buffer, 0, read);
        }
        var settings = JsonSerializer.Serialize(new
        {
            model, size, fold, opset,
            version = typeof(OnnxExportCache).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion,
            machine = Machine(),
        });
        hash.AppendData(Encoding.UTF8.GetBytes(settings));
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..32];
    }

    /// <summary>The CPU and ONNX Runtime the optimised graph was made for.</summary>
    static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) ?? ""
            : Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? "";
        return $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} {cpu} {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()}";
    }

    /// <summary>
    /// The cached model for <paramref name="key"/>, opened; or, when missing or unusable, the one
    /// <paramref name="export"/> writes (to the path it is given, with <see cref="KeyEntry"/> in its metadata),
    /// optimised and saved.
    /// </summary>
    public static OnnxRuntimeModel Open(string architecture, string key, int threads, Action<string> export)
    {
        var path = Path.Combine(Directory, $"{architecture}-{key}.onnx");
        if (File.Exists(path) && TryOpen(path, key, threads) is { } cached)
            return cached;
        System.IO.Directory.CreateDirectory(Directory);
        var exported = Path.Combine(Directory, $".{architecture}-{key}.{Guid.NewGuid():N}.partial");
        var optimized = exported + ".optimized";
        try
        {
            export(exported);
            var model = OnnxRuntimeModel.Open(exported, threads, saveOptimizedTo: optimized);
            File.Move(optimized, path, overwrite: true);
            return model;
        }
        finally
        {
            File.Delete(exported);
            File.Delete(optimized);
        }
    }

    static OnnxRuntimeModel? TryOpen(string path, string key, int threads)
    {
        try
        {
            var model = OnnxRuntimeModel.Open(path, threads, optimized: true);
            if (model.Metadata.TryGetValue(KeyEntry, out var stored) && stored == key)
                return model;
            model.Dispose();
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            // Corrupt or cut short (another run killed mid-write cannot leave one: writes are renamed into place).
        }
        return null;
    }
}
