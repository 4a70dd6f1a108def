using static TorchSharp.torch;

namespace TorchVisionModels;

/// <summary>
/// PyTorch's traversal orders where TorchSharp's differ. The order of <c>modules()</c> decides which random
/// numbers each layer's initialisation draws, and the order of <c>state_dict()</c> is what PyTorch writes.
/// </summary>
static class PyTorchOrder
{
    /// <summary>Every submodule of <paramref name="root"/> (not the root itself), depth-first pre-order.</summary>
    public static IEnumerable<(string name, nn.Module module)> named_modules(nn.Module root)
    {
        foreach (var (name, child) in root.named_children())
        {
            yield return (name, child);
            foreach (var (descendant, module) in named_modules(child))
                yield return ($"{name}.{descendant}", module);
        }
    }

    /// <summary>Each module's own parameters, then its persistent buffers, then its children's, depth-first.</summary>
    public static Dictionary<string, Tensor> state_dict(nn.Module root, Dictionary<string, Tensor>? destination, string? prefix)
    {
        destination ??= new Dictionary<string, Tensor>();
        var modules = named_modules(root).Prepend((name: "", module: root));
        foreach (var (name, module) in modules)
        {
            var path = string.Join(".", new[] { prefix, name }.Where(part => !string.IsNullOrEmpty(part)));
            var at = path.Length == 0 ? "" : path + ".";
            foreach (var (key, parameter) in module.named_parameters(recurse: false))
                destination.TryAdd(at + key, parameter);
            foreach (var (key, buffer) in module.named_buffers(recurse: false, include_nonpersistent: false))
                destination.TryAdd(at + key, buffer);
        }
        return destination;
    }
}
