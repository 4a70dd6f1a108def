using TorchSharp.Modules;
using TorchVisionModels.Serialization;
using static TorchSharp.torch;

namespace TorchVisionModels.Training;

/// <summary>
/// A resumable training state in one torch.save file, laid out as PyTorch training scripts write theirs:
/// <c>{"model": state_dict, "optimizer": optimizer.state_dict(), "epoch": n, "metadata": {...}}</c>. It loads in
/// <c>classify</c> and <c>load_state_dict</c> (which find the weights under "model") and in PyTorch.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>Writes the checkpoint atomically: a crash never leaves a partial file in place of the last good one.</summary>
    public static void Save(string path, nn.Module model, OptimizerHelper optimizer, long epoch, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var contents = new Dictionary<string, object?>
        {
            ["model"] = new PickleWriter.OrderedDict(model.state_dict().Select(kv => KeyValuePair.Create(kv.Key, (object?)kv.Value))),
            ["optimizer"] = OptimizerStateDict.From(optimizer),
            ["epoch"] = epoch,
            ["metadata"] = (metadata ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, kv => (object?)kv.Value),
        };
        StateDictFiles.WriteAtomically(path, stream => PyTorchFormat.Write(stream, contents));
    }

    /// <summary>The metadata saved with a checkpoint, read without touching any model.</summary>
    /// <exception cref="CheckpointException">The file is not a training checkpoint.</exception>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        using var file = CheckpointFile.Open(path);
        return Metadata(file, path);
    }

    static Dictionary<string, string> Metadata(CheckpointFile file, string path)
    {
        if (file.Contents is not PickleDictionary contents || contents.GetValueOrDefault("epoch") is not long)
            throw new CheckpointException($"{path} is not a training checkpoint: it has no \"epoch\".");
        return (contents.GetValueOrDefault("metadata") as PickleDictionary ?? [])
            .ToDictionary(kv => kv.Key.ToString()!, kv => kv.Value?.ToString() ?? "");
    }

    /// <summary>
    /// Restores the model's weights and the optimizer's state, strictly; returns the epoch and metadata saved with
    /// them. Everything is read and checked before anything changes.
    /// </summary>
    /// <exception cref="CheckpointException">The file is not a training checkpoint, or does not fit the model or optimizer.</exception>
    public static (long epoch, IReadOnlyDictionary<string, string> metadata) Load(string path, nn.Module model, OptimizerHelper optimizer)
    {
        using var file = CheckpointFile.Open(path);
        var metadata = Metadata(file, path);
        var contents = (PickleDictionary)file.Contents!;
        var epoch = (long)contents["epoch"]!;

        using var staged = OptimizerStateDict.Stage(optimizer, contents.GetValueOrDefault("optimizer"), path);
        model.load_state_dict(path);
        staged.Apply();
        return (epoch, metadata);
    }
}
