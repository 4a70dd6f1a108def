using TorchVisionModels.Serialization;

namespace TorchVisionModels;

/// <summary>A ResNet and the checkpoint files that hold its weights.</summary>
public static class Checkpoints
{
    /// <summary><paramref name="model"/> with the weights of <paramref name="path"/> (strictly); disposed if they do not load.</summary>
    public static ResNet WithWeights(this ResNet model, string path)
    {
        try
        {
            model.load_state_dict(path);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The number of classes a ResNet checkpoint predicts: the rows of its fc.weight.</summary>
    /// <exception cref="ArgumentException">It has no fc.weight.</exception>
    public static long Classes(string path)
    {
        using var file = CheckpointFile.Open(path);
        return file.GetStateDict().TryGetValue("fc.weight", out var fc) ? fc.shape[0]
            : throw new ArgumentException($"{path} has no fc.weight: it is not a ResNet checkpoint.");
    }
}
