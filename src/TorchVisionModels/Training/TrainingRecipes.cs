namespace TorchVisionModels.Training;

/// <summary>
/// Named training recipes, each a set of <c>finetune</c>'s options (train.py's, where it has one) and their values.
/// A recipe fills in what the command line leaves out; a run's card records every setting it used
/// (<see cref="ModelCard.Training"/>), so a resumed run goes on with the same ones.
/// </summary>
public static class TrainingRecipes
{
    /// <summary>
    /// torchvision's "new training recipe", which made ResNet50_Weights.IMAGENET1K_V2: TrivialAugmentWide, random
    /// erasing, mixup and cutmix, label smoothing, no weight decay on norm layers, the weights' moving average,
    /// repeated augmentation, 176-pixel training crops evaluated at 232/224, 600 epochs of cosine after 5 of
    /// warm-up. Its learning rate, 0.5 for 8 GPUs of 128 images, is scaled linearly to one process of 128
    /// (<see cref="LearningRateFor"/>).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> TorchvisionV2 = new Dictionary<string, string>
    {
        ["epochs"] = "600",
        ["batch-size"] = "128",
        ["optimizer"] = "sgd-momentum",
        ["lr"] = "0.0625",
        ["momentum"] = "0.9",
        ["weight-decay"] = "0.00002",
        ["norm-weight-decay"] = "0.0",
        ["label-smoothing"] = "0.1",
        ["schedule"] = "cosine",
        ["warmup-epochs"] = "5",
        ["lr-warmup-method"] = "linear",
        ["lr-warmup-decay"] = "0.01",
        ["auto-augment"] = "ta_wide",
        ["random-erase"] = "0.1",
        ["mixup-alpha"] = "0.2",
        ["cutmix-alpha"] = "1.0",
        ["model-ema"] = "true",
        ["model-ema-steps"] = "32",
        ["model-ema-decay"] = "0.99998",
        ["train-crop-size"] = "176",
        ["crop-size"] = "224",
        ["resize-size"] = "232",
        ["ra-reps"] = "4",
    };

    /// <summary>The recipes by name.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> All =
        new Dictionary<string, IReadOnlyDictionary<string, string>> { ["torchvision-v2"] = TorchvisionV2 };

    /// <summary>The recipe called <paramref name="name"/>.</summary>
    /// <exception cref="OptionException">There is none; the message lists them.</exception>
    public static IReadOnlyDictionary<string, string> Named(string name)
        => All.TryGetValue(name, out var recipe) ? recipe : throw new OptionException("Recipe", name, $"is not one of {string.Join(", ", All.Keys)}");

    /// <summary>
    /// The recipe's learning rate for <paramref name="imagesPerStep"/> images an optimizer step, by the linear
    /// scaling rule the recipe's own numbers follow (Goyal et al.): its rate times the images over its batch size.
    /// </summary>
    public static double LearningRateFor(IReadOnlyDictionary<string, string> recipe, int imagesPerStep)
        => double.Parse(recipe["lr"], System.Globalization.CultureInfo.InvariantCulture) * imagesPerStep / int.Parse(recipe["batch-size"], System.Globalization.CultureInfo.InvariantCulture);
}
