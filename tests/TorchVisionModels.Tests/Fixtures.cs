using System.Collections;
using System.Reflection;
using System.Text.Json;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>PyTorch's ground truth, written by scripts/export_weights.py --fixtures before the tests build.</summary>
static class Fixtures
{
    public static readonly string Directory = typeof(Fixtures).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Fixtures").Value!;

    public static string PathOf(string name)
    {
        var path = Path.Combine(Directory, name);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Missing fixture {path}: run scripts/export_weights.py --fixtures {Directory}", path);
        return path;
    }

    public static JsonElement Json(string name) => JsonDocument.Parse(File.ReadAllText(PathOf(name))).RootElement;

    /// <summary>A flat dict of tensors saved by torch.save.</summary>
    public static Dictionary<string, Tensor> Tensors(string name)
    {
        var table = PyTorchUnpickler.UnpickleStateDict(PathOf(name));
        return table.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
    }

    /// <summary>Copies a PyTorch state dict into the model; the key sets must be equal.</summary>
    public static void LoadInto(nn.Module model, string name)
    {
        var source = Tensors(name);
        var target = model.state_dict();
        Assert.Equal(source.Keys.Order(), target.Keys.Order());
        using (no_grad())
        {
            foreach (var (key, tensor) in target)
                tensor.copy_(source[key]);
        }
        foreach (var tensor in source.Values)
            tensor.Dispose();
    }
}
