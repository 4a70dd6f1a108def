using System.Text.Json;
using TorchVisionModels.Datasets;
using TorchVisionModels.Serialization;
using TorchVisionModels.Training;
using TorchVisionModels.Transforms;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Training;

/// <summary>
/// The training engine on 200 Fashion-MNIST images: it reproduces PyTorch's run of the same recipe, a resumed run
/// equals the uninterrupted one bit for bit, a frozen backbone does not move, and its checkpoints load in PyTorch.
/// </summary>
public class TrainerTests(ITestOutputHelper output) : IDisposable
{
    static readonly string Data = Path.Combine(Fixtures.Directory, "fashion-mnist-small");
    static readonly ImageFolder Train = new(Path.Combine(Data, "train"));
    static readonly ImageFolder Test = new(Path.Combine(Data, "test"));
    static readonly JsonElement Engine = Fixtures.Json("engine.json");
    static readonly ulong Seed = Engine.GetProperty("seed").GetUInt64();

    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("trainer-");

    /// <summary>The recipe of the generator's training_engine.</summary>
    static readonly TrainerOptions Options = new()
    {
        Epochs = Engine.GetProperty("epochs").GetInt32(),
        LearningRate = Engine.GetProperty("lr").GetDouble(),
        Momentum = Engine.GetProperty("momentum").GetDouble(),
        WeightDecay = Engine.GetProperty("weight_decay").GetDouble(),
        LabelSmoothing = Engine.GetProperty("label_smoothing").GetDouble(),
        WarmupEpochs = Engine.GetProperty("warmup_epochs").GetInt32(),
        AccumulationSteps = Engine.GetProperty("accumulation").GetInt32(),
    };

    static ImageFolderLoader TrainLoader(int workers = 2) => new(Train,
        new ClassificationPresetTrain(32) { scale = (Engine.GetProperty("min_scale").GetDouble(), 1.0) }.forward,
        Engine.GetProperty("batch_size").GetInt32(), shuffle: true, drop_last: true, num_workers: workers, seed: Seed);

    static ImageFolderLoader TestLoader()
    {
        var preset = new ImageClassification(crop_size: 32, resize_size: 32);
        return new(Test, (image, _) => preset.forward(image), 64);
    }

    static ResNet Model(NormLayer? norm_layer = null)
    {
        manual_seed((long)Seed);
        return torchvision.models.resnet18(num_classes: 10, norm_layer: norm_layer);
    }

    /// <summary>The card the trainer writes beside its checkpoints.</summary>
    static ModelCard Card(ResNet model) => ModelCard.For(model, "resnet18", Train.classes, new ImageClassification(crop_size: 32, resize_size: 32), "TrainerTests");

    string Out(string name) => Path.Combine(directory.FullName, name);

    [Fact]
    public void ReproducesPyTorchsRunOfTheSameRecipe()
    {
        using var expected = new SampledArrays("engine.expected.npz");
        using var model = Model();
        ModelCases.AssertDigests(model, "engine.initial.json"); // the same seed gives torchvision's initial weights
        using var trainer = new Trainer(model, Options, CPU);
        var means = new List<double>();
        // The first of two epochs (see the generator's training_engine for why not both): warm-up, accumulation, label smoothing.
        var result = trainer.Fit(TrainLoader(), TestLoader(), Out("run"), Card(model), new Recorder(p => means.Add(p.Loss * p.Batch))).First();
        var batchLosses = means.Select((sum, i) => i % 6 == 0 ? sum : sum - means[i - 1]).ToList();

        var losses = expected["epoch1.losses"].data<double>().ToArray();
        output.WriteLine($"batch losses: {string.Join(", ", batchLosses.Select(l => l.ToString("F6")))}; PyTorch {string.Join(", ", losses.Select(l => l.ToString("F6")))}");
        // The run is chaotic (batch norm over 32 numbers in layer4): PyTorch itself, with one thread instead of
        // two, lands 4.5e-5 (relative) away on the fifth batch's loss and 1.7e-4 on the sixth. Measured here:
        // 1.8e-4 on the sixth, on AMD EPYC, where 1x1 convolutions run as matrix products (PointwiseConvolution).
        Assert.Equal(losses.Length, batchLosses.Count);
        Assert.All(losses.Zip(batchLosses), pair => Assert.InRange(Math.Abs(pair.First - pair.Second) / pair.First, 0, 5e-4));
        Assert.InRange(Math.Abs(result.TrainLoss - losses.Average()) / losses.Average(), 0, 1e-4);
        Assert.Equal(expected.Scalar("epoch1.top1"), result.Validation!.Top1, 1e-9);

        // Absolute below 1, relative above: batch norm biases start at zero and stay near it after three steps,
        // where a relative measure means nothing, while running variances reach the tens. Large tensors are
        // compared on the generator's sample of their elements and their norm.
        var state = model.state_dict();
        var (worst, difference) = state.Where(kv => kv.Value.is_floating_point())
            .Select(kv => (kv.Key, expected.RelativeError("final." + kv.Key, kv.Value, minScale: 1))).MaxBy(d => d.Item2);
        output.WriteLine($"largest difference after three optimizer steps: {difference:E2} ({worst})");
        // Float32 sums in another order, amplified through batch norm over three steps: PyTorch itself, run with
        // one thread instead of two, lands 1.5e-3 away (conv1.weight). Measured: 4.2e-5 on Intel (oneDNN's
        // kernels, as PyTorch's), 2.2e-3 on AMD EPYC (1x1 convolutions as matrix products).
        Assert.InRange(difference, 0, 5e-3);
        foreach (var (key, value) in state.Where(kv => !kv.Value.is_floating_point()))
            Assert.True(Fixtures.BitIdentical(value, expected["final." + key]), key);
    }

    [Fact]
    public void ResumedRunEqualsTheUninterruptedOne()
    {
        using var uninterrupted = Model();
        using (var trainer = new Trainer(uninterrupted, Options, CPU))
            _ = trainer.Fit(TrainLoader(), null, Out("whole"), Card(uninterrupted)).ToList();

        using (var first = Model())
        using (var trainer = new Trainer(first, Options, CPU))
            Assert.Single(trainer.Fit(TrainLoader(), null, Out("split"), Card(first)).Take(1));

        // Another seed and worker count: everything that matters must come from the checkpoint.
        manual_seed(99);
        using var resumed = torchvision.models.resnet18(num_classes: 10);
        using (var trainer = new Trainer(resumed, Options, CPU))
        {
            trainer.Resume(Out("split/last.pt"));
            Assert.Equal((1, 3), (trainer.Epoch, trainer.Step));
            Assert.Equal([2L], trainer.Fit(TrainLoader(workers: 1), null, Out("split"), Card(resumed)).Select(r => r.Epoch).ToList());
        }

        var expected = uninterrupted.state_dict();
        Assert.All(resumed.state_dict(), kv => Assert.True(Fixtures.BitIdentical(expected[kv.Key], kv.Value), kv.Key));
        Assert.Equal([1L, 2L], File.ReadAllLines(Out("split/metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("epoch").GetInt64()));

        // TensorBoard: the resumed run's file purges from epoch 2 on (a START at step 2), then records epoch 2.
        var files = Directory.GetFiles(Out("split"), "events.out.tfevents.*").Select(SummaryWriterTests.Read).OrderBy(e => e.Count).ToList();
        Assert.Equal(2, files.Count);
        Assert.Equal([(1L, "loss/train"), (1L, "lr")], files[0].Where(e => e.Tag is not null).Select(e => (e.Step, e.Tag)));
        Assert.Equal(new SummaryWriterTests.Event(2, null, null, null, 1), files[1][2]);
        Assert.Equal([(2L, "loss/train"), (2L, "lr")], files[1].Where(e => e.Tag is not null).Select(e => (e.Step, e.Tag)));
    }

    [Fact]
    public void FrozenBackboneKeepsItsWeightsBitIdentical()
    {
        using var model = Model(c => new FrozenBatchNorm2d(c));
        FineTuning.FreezeBackbone(model);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using (var trainer = new Trainer(model, Options with { Epochs = 1, HeadLearningRate = 0.5 }, CPU))
        {
            Assert.Equal([0.5], trainer.Optimizer.ParamGroups.Select(g => g.InitialLearningRate));
            _ = trainer.Fit(TrainLoader(), null, Out("frozen"), Card(model)).ToList();
        }

        foreach (var (key, value) in model.state_dict())
            Assert.True(Fixtures.BitIdentical(before[key], value) == !key.StartsWith("fc."), key);
        Fixtures.DisposeAll(before.Values);
    }

    [Fact]
    public void FreezingBatchNormLayersIsRefused()
    {
        using var model = Model();
        var error = Assert.Throws<ArgumentException>(() => FineTuning.FreezeBackbone(model));
        Assert.Equal("FreezeBackbone needs a model built with norm_layer: c => new FrozenBatchNorm2d(c); this one has BatchNorm layers (bn1, ...) whose statistics would keep changing in training.", error.Message);
    }

    [Fact]
    public void SeparateLearningRatesFollowTheSchedule()
    {
        using var model = Model();
        using var trainer = new Trainer(model, Options with { Epochs = 1, HeadLearningRate = 0.5, WarmupEpochs = 0 }, CPU);
        var groups = trainer.Optimizer.ParamGroups.ToList();
        Assert.Equal(2, groups.Count);
        var result = trainer.Fit(TrainLoader(), null, Out("groups"), Card(model)).Single();
        var factor = new CosineSchedule(3).Factor(2);
        Assert.Equal([Options.LearningRate * factor, 0.5 * factor], groups.Select(g => g.LearningRate));
        Assert.Equal(Options.LearningRate * factor, result.LearningRate);
    }

    [Fact]
    public void TrainingReducesTheLoss()
    {
        using var model = Model();
        using var trainer = new Trainer(model, Options with { Epochs = 4, LearningRate = 0.01, AccumulationSteps = 1 }, CPU);
        var losses = trainer.Fit(TrainLoader(), null, Out("loss"), Card(model)).Select(r => r.TrainLoss).ToList();
        output.WriteLine($"training loss by epoch: {string.Join(", ", losses.Select(l => l.ToString("F4")))}");
        Assert.True(losses[^1] < 0.85 * losses[0], $"{losses[^1]} is not well below {losses[0]}");
    }

    [Fact]
    public void EpochsLeaveNoLiveTensorsBehind()
    {
        using var model = Model();
        using var trainer = new Trainer(model, Options with { Epochs = 100 }, CPU);
        using var epochs = trainer.Fit(TrainLoader(), TestLoader(), Out("memory"), Card(model)).GetEnumerator();
        Assert.True(epochs.MoveNext());
        var before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 2; i++)
            Assert.True(epochs.MoveNext());
        // Loader workers create each sample on their thread; this thread stacks and frees it, so this thread's count
        // drops by one per sample (192 training, 200 validation per epoch). Anything else kept alive would show.
        Assert.Equal(before - 2 * (192 + 200), TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void CheckpointsLoadInPyTorchAndHere()
    {
        using var model = Model();
        using (var trainer = new Trainer(model, Options with { Epochs = 1 }, CPU))
            _ = trainer.Fit(TrainLoader(), TestLoader(), Out("ckpt"), Card(model)).ToList();

        Assert.Equal(["best.card.json", "best.pt", "last.card.json", "last.pt", "metrics.jsonl", "report.html"],
            Directory.GetFiles(Out("ckpt")).Select(Path.GetFileName).Where(f => !f!.StartsWith("events.out.tfevents.")).Order());
        // The TensorBoard file holds metrics.jsonl's numbers, as float32.
        var epoch = JsonDocument.Parse(File.ReadAllLines(Out("ckpt/metrics.jsonl")).Single()).RootElement;
        var scalars = SummaryWriterTests.Read(Directory.GetFiles(Out("ckpt"), "events.out.tfevents.*").Single()).Where(e => e.Tag is not null);
        (string Tag, string Metric)[] names = [("loss/train", "train_loss"), ("lr", "lr"), ("loss/validation", "val_loss"), ("accuracy/top1", "val_top1"), ("accuracy/top5", "val_top5")];
        Assert.Equal(names.Select(t => new SummaryWriterTests.Event(1, t.Tag, (float)epoch.GetProperty(t.Metric).GetDouble(), null, null)), scalars);
        Assert.Equal(Card(model).ToJson(), ModelCard.Read(Out("ckpt/best.card.json")).ToJson());
        var (exitCode, text) = Fixtures.RunPython("check_state_dict.py", Out("ckpt/last.pt"), "--model", "resnet18", "--num-classes", "10", "--optimizer", "sgd");
        Assert.True(exitCode == 0, text);
        Assert.StartsWith("ok epoch=1", text);
        // best.pt holds the model as it is now (one epoch: best is last): PyTorch checks it against the digests of
        // the tensors in memory, not against a file this library wrote.
        ModelCases.WriteDigests(model, Out("model.json"));
        (exitCode, text) = Fixtures.RunPython("check_state_dict.py", Out("ckpt/best.pt"), "--model", "resnet18", "--num-classes", "10", "--digests", Out("model.json"));
        Assert.True(exitCode == 0, text);
        Assert.Equal("ok", text.Trim());

        using var reloaded = torchvision.models.resnet18(num_classes: 10);
        reloaded.load_state_dict(Out("ckpt/best.pt"));
        Assert.All(model.state_dict(), kv => Assert.True(Fixtures.BitIdentical(kv.Value, reloaded.state_dict()[kv.Key]), kv.Key));
        var metadata = TrainingCheckpoint.ReadMetadata(Out("ckpt/last.pt"));
        Assert.Equal(("3", Seed.ToString()), (metadata["step"], metadata["seed"]));
    }

    /// <summary>Calls back synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    sealed class Recorder(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    public void Dispose() => directory.Delete(recursive: true);
}
