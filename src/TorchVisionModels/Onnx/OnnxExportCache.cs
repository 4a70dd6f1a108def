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
/// not match, is made again. The folder is kept under <see cref="MaxBytes"/>: the least recently used exports are
/// removed first, never one a process has open (each model holds a shared lock on its file while it lives).
/// </summary>
public static class OnnxExportCache
{
    /// <summary>The metadata entry that holds the key, checked when the file is opened.</summary>
    public const string KeyEntry = "cache_key";

    /// <summary>Where the exports are kept: <c>onnx</c> in torch.hub's folder.</summary>
    public static string Directory => Path.Combine(Hub.get_dir(), "onnx");

    /// <summary>The environment variable that sets <see cref="MaxBytes"/>, in MB.</summary>
    public const string MaxMegabytesVariable = "TORCHVISION_RESNET_ONNX_CACHE_MB";

    /// <summary>The most the exports may take together: <c>TORCHVISION_RESNET_ONNX_CACHE_MB</c>, else 1024 MB (ten ResNet-50s).</summary>
    public static long MaxBytes => (long.TryParse(Environment.GetEnvironmentVariable(MaxMegabytesVariable), out var mb) && mb >= 0 ? mb : 1024) << 20;

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
        var model = File.Exists(path) ? TryOpen(path, key, threads) : null;
        if (model is null)
        {
            System.IO.Directory.CreateDirectory(Directory);
            var exported = Path.Combine(Directory, $".{architecture}-{key}.{Guid.NewGuid():N}.partial");
            var optimized = exported + ".optimized";
            try
            {
                export(exported);
                model = OnnxRuntimeModel.Open(exported, threads, saveOptimizedTo: optimized);
                File.Move(optimized, path, overwrite: true);
            }
            finally
            {
                File.Delete(exported);
                File.Delete(optimized);
            }
        }
        else
        {
            MarkUsed(path);
        }
        model.HoldOpen(path);
        Evict(Directory, MaxBytes);
        return model;
    }

    /// <summary>Its access time, set here whatever the mount's atime policy, is when it was last used: eviction goes by it.</summary>
    static void MarkUsed(string path)
    {
        try
        {
            File.SetLastAccessTimeUtc(path, DateTime.UtcNow);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only cache (a mounted volume, say) is used as it is and never evicted from.
        }
    }

    /// <summary>
    /// Removes the least recently used exports in <paramref name="directory"/> until the rest fit in
    /// <paramref name="maxBytes"/>, skipping any a process holds open (its shared lock refuses ours).
    /// </summary>
    internal static void Evict(string directory, long maxBytes)
    {
        long kept = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*.onnx").OrderByDescending(f => f.LastAccessTimeUtc))
        {
            kept += file.Length;
            if (kept <= maxBytes)
                continue;
            try
            {
                using (new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.None))
                    file.Delete();
                kept -= file.Length;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use by a running model, removed by another process meanwhile, or not ours to remove: kept.
            }
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
