using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels.Serialization;

/// <summary>
/// <c>load_state_dict</c> from a file and <c>SaveStateDict</c> to one, for any module: the PyTorch workflow of
/// <c>model.load_state_dict(torch.load(path))</c> and <c>torch.save(model.state_dict(), path)</c>.
/// </summary>
public static class StateDictFiles
{
    /// <summary>
    /// Loads the weights in <paramref name="path"/> (torch.save, safetensors or TorchSharp format, recognised by
    /// content) into the module, converting to its dtype and device. Nothing changes unless everything loads: on
    /// any error the module's tensors are as they were.
    /// </summary>
    /// <param name="module">The model to load into.</param>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="strict">Throw unless the file's keys and shapes are exactly the module's (after <paramref name="skip"/>).</param>
    /// <param name="skip">Keys, or module names such as <c>"fc"</c>, to leave alone: neither read nor reported. For a new head: <c>skip: ["fc"]</c>.</param>
    /// <returns>Missing keys, unexpected keys and shape mismatches (all empty after a strict load).</returns>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="CheckpointException">The file is not a checkpoint, or (strict) does not fit the module; the message lists every problem.</exception>
    public static LoadStateDictResult load_state_dict(this nn.Module module, string path, bool strict = true, IReadOnlyCollection<string>? skip = null)
    {
        using var file = CheckpointFile.Open(path);
        var source = file.GetStateDict();
        var target = module.state_dict();
        var modules = module.named_modules().ToDictionary(m => m.name, m => m.module);
        bool Skipped(string key) => skip is not null && skip.Any(s => key == s || key.StartsWith(s + ".", StringComparison.Ordinal));
        bool OwnedBy<T>(string key) => modules.GetValueOrDefault(key.Contains('.') ? key[..key.LastIndexOf('.')] : "") is T;

        var missing = target.Keys.Where(k => !source.ContainsKey(k) && !Skipped(k)
            // PyTorch's BatchNorm fills in a num_batches_tracked its checkpoint lacks (files from before 0.4.1, safetensors).
            && !(k.EndsWith(".num_batches_tracked", StringComparison.Ordinal) && OwnedBy<BatchNorm>(k))).ToList();
        var unexpected = source.Keys.Where(k => !target.ContainsKey(k) && !Skipped(k)
            // torchvision's FrozenBatchNorm2d drops the num_batches_tracked of the BatchNorm2d it replaces.
            && !(k.EndsWith(".num_batches_tracked", StringComparison.Ordinal) && OwnedBy<FrozenBatchNorm2d>(k))).ToList();
        var mismatched = target.Where(kv => source.ContainsKey(kv.Key) && !Skipped(kv.Key) && !source[kv.Key].shape.SequenceEqual(kv.Value.shape))
            .Select(kv => new ShapeMismatch(kv.Key, kv.Value.shape, source[kv.Key].shape)).ToList();
        var result = new LoadStateDictResult(missing, unexpected, mismatched);
        if (strict && !result.IsComplete)
            throw new CheckpointException(
                $"Error(s) in loading state_dict for {module.GetName()} from {path}:{Environment.NewLine}{result}" +
                (mismatched.Count > 0 ? $"{Environment.NewLine}To load the rest into a new head, skip it: load_state_dict(path, skip: [\"fc\"])." : ""),
                result: result);

        var keys = target.Keys.Where(k => source.ContainsKey(k) && !Skipped(k) && !mismatched.Any(m => m.Key == k)).ToList();
        var values = new List<Tensor>();
        try
        {
            foreach (var key in keys)
                values.Add(source[key].Read());
        }
        catch (Exception e) when (CheckpointFile.IsFormatError(e))
        {
            foreach (var value in values)
                value.Dispose();
            throw new CheckpointException($"{path} is truncated or corrupt: reading its tensors failed ({e.Message.TrimEnd('.')}). Export it again.", e);
        }

        using (no_grad())
        {
            for (var i = 0; i < keys.Count; i++)
            {
                target[keys[i]].copy_(values[i]);
                values[i].Dispose();
            }
        }
        return result;
    }

    /// <summary>
    /// Writes the module's state dict to <paramref name="path"/>: safetensors for a <c>.safetensors</c> name,
    /// otherwise torch.save's zip format. PyTorch loads either with <c>load_state_dict(strict=True)</c>. The file is
    /// written under a temporary name and renamed when complete, so a failure never leaves a partial file.
    /// </summary>
    public static void SaveStateDict(this nn.Module module, string path)
    {
        var state = module.state_dict();
        var format = path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? CheckpointFormat.Safetensors : CheckpointFormat.PyTorch;
        WriteAtomically(path, stream =>
        {
            if (format == CheckpointFormat.Safetensors)
                SafetensorsFormat.Write(stream, state);
            else
                PyTorchFormat.Write(stream, new PickleWriter.OrderedDict(state.Select(kv => KeyValuePair.Create(kv.Key, (object?)kv.Value))));
        });
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/> and renames it over <paramref name="path"/>.</summary>
    internal static void WriteAtomically(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
