using System.Text.Json;
using TorchVisionModels.Datasets;
using TorchVisionModels.Training;
using TorchVisionModels.Transforms;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Training;

/// <summary>
/// train.py's recipe pieces together against PyTorch's replay of the same epoch (the generator's recipe.py):
/// TrivialAugmentWide and random erasing, mixup or cutmix per batch, no weight decay on norm layers, gradient
/// clipping and the weights' moving average give PyTorch's per-step losses, weights and average.
/// </summary>
public sealed class RecipeTests(ITestOutputHelper output) : IDisposable
{
    static readonly string Data = Path.Combine(Fixtures.Directory, "fashion-mnist-small");
    static readonly JsonElement Recipe = Fixtures.Json("recipe.json");
    static readonly ulong Seed = Recipe.GetProperty("seed").GetUInt64();
    static int Crop => Recipe.GetProperty("crop").GetInt32();

    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("recipe-");

    public void Dispose() => directory.Delete(recursive: true);

    static double Number(string name) => Recipe.GetProperty(name).GetDouble();

    static readonly TrainerOptions Options = new()
    {
        Epochs = Recipe.GetProperty("epochs").GetInt32(),
        LearningRate = Number("lr"),
        Momentum = Number("momentum"),
        WeightDecay = Number("weight_decay"),
        NormWeightDecay = Number("norm_weight_decay"),
        LabelSmoothing = Number("label_smoothing"),
        MixupAlpha = Number("mixup_alpha"),
        CutmixAlpha = Number("cutmix_alpha"),
        ClipGradNorm = Number("clip_grad_norm"),
        ModelEma = true,
        ModelEmaSteps = Recipe.GetProperty("model_ema_steps").GetInt32(),
        ModelEmaDecay = Number("model_ema_decay"),
    };

    [Fact]
    public void FirstEpochGivesPyTorchsLossesWeightsAndAverage()
    {
        using var expected = new SampledArrays("recipe.expected.npz");
        var train = new ImageFolder(Path.Combine(Data, "train"));
        var preset = new ClassificationPresetTrain(Crop)
        {
            scale = (Number("min_scale"), 1.0),
            auto_augment_policy = Recipe.GetProperty("auto_augment").GetString(),
            random_erase_prob = Number("random_erase"),
        };
        var loader = new ImageFolderLoader(train, preset.forward, Recipe.GetProperty("batch_size").GetInt32(), shuffle: true, drop_last: true, num_workers: 2, seed: Seed);
        manual_seed((long)Seed);
        using var model = torchvision.models.resnet18(num_classes: 10);
        using var trainer = new Trainer(model, Options, CPU, emaModule: torchvision.models.resnet18(num_classes: 10));
        var means = new List<double>();
        var card = ModelCard.For(model, "resnet18", train.classes, new ImageClassification(crop_size: Crop, resize_size: Crop), "RecipeTests");
        _ = trainer.Fit(loader, null, directory.FullName, card, new Recorder(p => means.Add(p.Loss * p.Batch))).First();

        var losses = expected["losses"].data<double>().ToArray();
        var batchLosses = means.Select((sum, i) => i == 0 ? sum : sum - means[i - 1]).ToList();
        output.WriteLine($"losses: {string.Join(", ", batchLosses.Select(l => l.ToString("F6")))}; PyTorch {string.Join(", ", losses.Select(l => l.ToString("F6")))}");
        Assert.Equal(losses.Length, batchLosses.Count);
        // Float32 sums in another order. Measured (AMD EPYC): 4e-7 relative at most over the eight steps, as close as
        // PyTorch with one thread is to PyTorch with two.
        Assert.All(losses.Zip(batchLosses), pair => Assert.InRange(Math.Abs(pair.First - pair.Second) / pair.First, 0, 1e-4));

        Assert.Equal(expected.Scalar("n_averaged"), trainer.Ema!.Averaged);
        foreach (var (prefix, state) in new[] { ("final.", model.state_dict()), ("ema.", trainer.Ema.Module.state_dict()) })
        {
            var (worst, difference) = state.Where(kv => kv.Value.is_floating_point())
                .Select(kv => (kv.Key, expected.RelativeError(prefix + kv.Key, kv.Value, minScale: 1))).MaxBy(d => d.Item2);
            output.WriteLine($"{prefix} largest difference: {difference:E2} ({worst})");
            // Measured (AMD EPYC): 3.5e-5 for both, in layer4.1.conv2.weight; the plain engine allows 5e-3 (TrainerTests).
            Assert.InRange(difference, 0, 1e-3);
        }
    }

    sealed class Recorder(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
