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
    /// <param name="path">The file.</param>
    /// <param name="model">The model's weights, under "model".</param>
    /// <param name="optimizer">Its state, under "optimizer".</param>
    /// <param name="epoch">Epochs completed.</param>
    /// <param name="metadata">Strings to keep with it.</param>
    /// <param name="ema">The weights' moving average, under "model_ema" as train.py stores it.</param>
    public static void Save(string path, nn.Module model, OptimizerHelper optimizer, long epoch, IReadOnlyDictionary<string, string>? metadata = null,
        ExponentialMovingAverage? ema = null)
    {
        using var scope = NewDisposeScope();
        var contents = new Dictionary<string, object?>
        {
            ["model"] = new PickleWriter.OrderedDict(model.state_dict().Select(kv => KeyValuePair.Create(kv.Key, (object?)kv.Value))),
            ["optimizer"] = OptimizerStateDict.From(optimizer),
            ["epoch"] = epoch,
            ["metadata"] = (metadata ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, kv => (object?)kv.Value),
        };
        if (ema is not null)
            contents["model_ema"] = new PickleWriter.OrderedDict(ema.StateDict().Select(kv => KeyValuePair.Create(kv.Key, (object?)kv.Value)));
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
    public static (long epoch, IReadOnlyDictionary<string, string> metadata) Load(string path, nn.Module model, OptimizerHelper optimizer,
        ExponentialMovingAverage? ema = null)
    {
        using var file = CheckpointFile.Open(path);
        var metadata = Metadata(file, path);
        var contents = (PickleDictionary)file.Contents!;
        var epoch = (long)contents["epoch"]!;
        using var staged = OptimizerStateDict.Stage(optimizer, contents.GetValueOrDefault("optimizer"), path);
        var average = ema is null ? null : StageAverage(ema, contents.GetValueOrDefault("model_ema"), path);
        try
        {
            model.load_state_dict(path);
            staged.Apply();
            if (average is not null)
            {
                using (no_grad())
                {
                    foreach (var (key, value) in ema!.Module.state_dict())
                        value.copy_(average[$"module.{key}"]);
                }
                ema.Averaged = average["n_averaged"].item<long>();
            }
        }
        finally
        {
            foreach (var tensor in (IEnumerable<Tensor>?)average?.Values ?? [])
                tensor.Dispose();
        }
        return (epoch, metadata);
    }

    /// <summary>The checkpoint's moving average, read whole and checked against <paramref name="ema"/> before anything changes.</summary>
    static Dictionary<string, Tensor> StageAverage(ExponentialMovingAverage ema, object? stored, string path)
    {
        if (stored is not PickleDictionary dictionary)
            throw new CheckpointException($"{path} has no \"model_ema\": it was written by a run without the weights' moving average, which this one keeps. Resume without it, or start afresh.");
        var expected = ema.Module.state_dict().ToDictionary(kv => $"module.{kv.Key}", kv => kv.Value.shape);
        expected["n_averaged"] = [];
        var found = dictionary.Where(kv => kv.Value is StoredTensor).ToDictionary(kv => (string)kv.Key, kv => (StoredTensor)kv.Value!);
        if (!expected.Keys.ToHashSet().SetEquals(found.Keys) || expected.Any(kv => !kv.Value.SequenceEqual(found[kv.Key].shape)))
            throw new CheckpointException($"{path}'s \"model_ema\" does not fit this model: its keys or shapes differ.");
        return found.ToDictionary(kv => kv.Key, kv => kv.Value.Read());
    }
}
