using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using TorchVisionModels.Datasets;
using TorchVisionModels.Serialization;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Training;

/// <summary>
/// Trains a ResNet classifier epoch by epoch, as torchvision's classification reference does: cross-entropy (with
/// label smoothing), SGD or AdamW, a learning rate set at every optimizer step, gradient accumulation, and top-1 /
/// top-5 on a validation set after each epoch. <see cref="Fit"/> keeps its output folder current after every epoch:
/// <c>last.pt</c> (a resumable <see cref="TrainingCheckpoint"/>), <c>best.pt</c> (the weights with the best
/// validation top-1, a plain state dict), a model card beside each (<c>best.card.json</c>, <c>last.card.json</c>), <c>metrics.jsonl</c>, <c>report.html</c> (<see cref="TrainingReport"/>), and TensorBoard's
/// <c>events.out.tfevents.*</c> (<see cref="SummaryWriter"/>), so <c>tensorboard --logdir</c> on the folder shows the same curves.
/// </summary>
public sealed class Trainer : IDisposable
{
    readonly ResNet model;
    readonly Device device;
    readonly double[] baseLearningRates;
    readonly Scalar accumulationSteps;
    readonly List<Parameter> parameters;
    readonly BatchMixing mixing;

    /// <summary>Moves <paramref name="model"/> to <paramref name="device"/> and builds the optimizer over its trainable parameters.</summary>
    /// <param name="model">The model to train.</param>
    /// <param name="options">The hyperparameters.</param>
    /// <param name="device">Where to train.</param>
    /// <param name="emaModule">With <see cref="TrainerOptions.ModelEma"/>: a model of the same architecture to hold the average (the trainer owns it).</param>
    public Trainer(ResNet model, TrainerOptions options, Device device, ResNet? emaModule = null)
    {
        try
        {
            if (options.ModelEma != emaModule is not null)
                throw new ArgumentException(options.ModelEma ? "ModelEma needs a model of the same architecture to hold the average." : "A model for the average is given without ModelEma.", nameof(emaModule));
            if (options.Epochs < 1 || options.AccumulationSteps < 1)
                throw new ArgumentException($"Epochs ({options.Epochs}) and AccumulationSteps ({options.AccumulationSteps}) must be at least 1.");
            Check(options);
        }
        catch
        {
            // Refused before it is taken: the average's model is the trainer's to free.
            emaModule?.Dispose();
            throw;
        }
        this.model = model;
        Options = options;
        this.device = device;
        accumulationSteps = options.AccumulationSteps.ToScalar();
        model.to(device);

        var (backbone, head) = FineTuning.ParameterGroups(model);
        if (backbone.Count + head.Count == 0)
            throw new ArgumentException("The model has no trainable parameters: every parameter has requires_grad off.");
        var byRate = options.HeadLearningRate is { } headLr
            ? new[] { (backbone, options.LearningRate), (head, headLr) }.Where(g => g.Item1.Count > 0).ToList()
            : [(backbone.Concat(head).ToList(), options.LearningRate)];
        var groups = byRate.SelectMany(g => WeightDecayGroups(model, g.Item1, options).Select(w => (parameters: w.parameters, lr: g.Item2, w.weightDecay))).ToList();
        baseLearningRates = groups.Select(g => g.lr).ToArray();
        parameters = groups.SelectMany(g => g.parameters).ToList();
        Optimizer = options.Optimizer switch
        {
            OptimizerKind.Sgd => new SGD(
                groups.Select(g => new SGD.ParamGroup { Parameters = g.parameters, Options = new SGD.Options { LearningRate = g.lr, weight_decay = g.weightDecay } }),
                options.LearningRate, options.Momentum, weight_decay: options.WeightDecay, nesterov: options.Nesterov),
            _ => new AdamW(
                groups.Select(g => new AdamW.ParamGroup { Parameters = g.parameters, Options = new AdamW.Options { LearningRate = g.lr, weight_decay = g.weightDecay } }),
                options.LearningRate, weight_decay: options.WeightDecay),
        };
        if (emaModule is not null)
        {
            emaModule.to(device);
            Ema = new ExponentialMovingAverage(model, emaModule, decay: 0);
        }
        mixing = new BatchMixing((int)model.fc.out_features, options.MixupAlpha, options.CutmixAlpha);
    }

    /// <summary>The recipe's options, each refused by name with what it must be.</summary>
    /// <exception cref="OptionException">An option is out of its range.</exception>
    static void Check(TrainerOptions options)
    {
        static void Require(bool valid, string option, object value, string problem)
        {
            if (!valid)
                throw new OptionException(option, value, problem);
        }
        Require(options.MixupAlpha >= 0, nameof(options.MixupAlpha), options.MixupAlpha, "must be 0 (none) or more");
        Require(options.CutmixAlpha >= 0, nameof(options.CutmixAlpha), options.CutmixAlpha, "must be 0 (none) or more");
        Require(options.ClipGradNorm is null or > 0, nameof(options.ClipGradNorm), options.ClipGradNorm!, "must be more than 0");
        Require(options.NormWeightDecay is null or >= 0, nameof(options.NormWeightDecay), options.NormWeightDecay!, "must be 0 or more");
        Require(options.BiasWeightDecay is null or >= 0, nameof(options.BiasWeightDecay), options.BiasWeightDecay!, "must be 0 or more");
        Require(options.ModelEmaSteps >= 1, nameof(options.ModelEmaSteps), options.ModelEmaSteps, "must be at least 1");
        Require(options.ModelEmaDecay is > 0 and < 1, nameof(options.ModelEmaDecay), options.ModelEmaDecay, "must be between 0 and 1");
        Require(options.WarmupDecay is > 0 and <= 1, nameof(options.WarmupDecay), options.WarmupDecay, "must be in (0, 1]");
        Require(options.Gamma > 0, nameof(options.Gamma), options.Gamma, "must be more than 0");
    }

    /// <summary>
    /// The reference's <c>utils.set_weight_decay</c>: <paramref name="parameters"/> split into the rest, the norm
    /// layers' (with <see cref="TrainerOptions.NormWeightDecay"/>) and the biases (with
    /// <see cref="TrainerOptions.BiasWeightDecay"/>, which takes precedence), in that order, empty groups left out.
    /// </summary>
    static IEnumerable<(List<Parameter> parameters, double weightDecay)> WeightDecayGroups(ResNet model, IReadOnlyList<Parameter> parameters, TrainerOptions options)
    {
        var included = parameters.ToHashSet();
        var (other, norm, bias) = (new List<Parameter>(), new List<Parameter>(), new List<Parameter>());
        foreach (var (_, module) in model.named_modules())
        {
            foreach (var (name, parameter) in module.named_parameters(recurse: false).Where(p => included.Contains(p.parameter)))
            {
                if (options.BiasWeightDecay is not null && name == "bias")
                    bias.Add(parameter);
                else if (options.NormWeightDecay is not null && NormKinds.IsNormLayer(module))
                    norm.Add(parameter);
                else
                    other.Add(parameter);
            }
        }
        return new[] { (other, options.WeightDecay), (norm, options.NormWeightDecay ?? 0), (bias, options.BiasWeightDecay ?? 0) }.Where(g => g.Item1.Count > 0);
    }

    /// <summary>The hyperparameters.</summary>
    public TrainerOptions Options { get; }

    /// <summary>The optimizer, one parameter group per learning rate.</summary>
    public OptimizerHelper Optimizer { get; }

    /// <summary>Epochs completed.</summary>
    public long Epoch { get; private set; }

    /// <summary>Optimizer steps taken: where the learning-rate schedule is.</summary>
    public long Step { get; private set; }

    /// <summary>With <see cref="TrainerOptions.ModelEma"/>: the moving average of the weights.</summary>
    public ExponentialMovingAverage? Ema { get; }

    /// <summary>The best validation top-1 so far (-1 before any evaluation).</summary>
    public double BestTop1 { get; private set; } = -1;

    /// <summary>
    /// Continues from a <c>last.pt</c> written by <see cref="Fit"/>: the weights, the optimizer's state, the epoch, the
    /// schedule's step and the best accuracy. Nothing changes unless the whole checkpoint fits.
    /// </summary>
    /// <exception cref="CheckpointException">The file is not such a checkpoint, or is for another model or optimizer.</exception>
    public void Resume(string checkpoint)
    {
        var (savedEpoch, metadata) = TrainingCheckpoint.Load(checkpoint, model, Optimizer, Ema);
        Epoch = savedEpoch;
        Step = long.Parse(metadata.GetValueOrDefault("step", "0"), CultureInfo.InvariantCulture);
        BestTop1 = double.Parse(metadata.GetValueOrDefault("best_top1", "-1"), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Trains from the epoch after <see cref="Epoch"/> up to <see cref="TrainerOptions.Epochs"/>, evaluating on
    /// <paramref name="validation"/> (when given) and writing the checkpoints and metrics after each epoch.
    /// </summary>
    /// <param name="train">The training batches (shuffled, augmented).</param>
    /// <param name="validation">The validation batches, or null.</param>
    /// <param name="outputDirectory">Where the checkpoints and metrics go; created if missing.</param>
    /// <param name="card">The model's card (architecture, options, class names, preprocessing), written beside each checkpoint for <c>classify</c>.</param>
    /// <param name="progress">Told after every batch.</param>
    /// <returns>The epochs, as they finish.</returns>
    public IEnumerable<EpochResult> Fit(ImageFolderLoader train, ImageFolderLoader? validation, string outputDirectory, ModelCard card,
        IProgress<TrainingProgress>? progress = null)
    {
        Directory.CreateDirectory(outputDirectory);
        var stepsPerEpoch = (train.Count + Options.AccumulationSteps - 1) / Options.AccumulationSteps;
        var schedule = LearningRateSchedule.For(Options, stepsPerEpoch);
        var metrics = Path.Combine(outputDirectory, "metrics.jsonl");
        KeepMetricsUpTo(metrics, Epoch);
        // A resumed run's first epoch purges what an earlier file recorded from it on, as metrics.jsonl drops those lines.
        using var events = new SummaryWriter(outputDirectory, purge_step: Epoch > 0 ? Epoch + 1 : null);
        if (Ema is not null)
            Ema.Decay = ExponentialMovingAverage.AdjustedDecay(Options.ModelEmaDecay, train.batch_size * Options.AccumulationSteps, Options.ModelEmaSteps, Options.Epochs);

        while (Epoch < Options.Epochs)
        {
            var (loss, seconds, images) = TrainEpoch(train, schedule, progress);
            var evaluation = validation is null ? null : Evaluation.Evaluate(model, validation, card.Categories.Count, device);
            var emaEvaluation = validation is null || Ema is null ? null : Evaluation.Evaluate(Ema.Module, validation, card.Categories.Count, device);
            // As train.py reports both, the better of the weights and their average is the run's best.
            var (bestOfEpoch, bestModel) = emaEvaluation is not null && emaEvaluation.Top1 > evaluation!.Top1 ? (emaEvaluation, Ema!.Module) : (evaluation, model);
            var isBest = bestOfEpoch is not null && bestOfEpoch.Top1 > BestTop1;
            if (isBest)
            {
                BestTop1 = bestOfEpoch!.Top1;
                bestModel.SaveStateDict(Path.Combine(outputDirectory, "best.pt"));
                card.WriteBeside(Path.Combine(outputDirectory, "best.pt"));
            }
            TrainingCheckpoint.Save(Path.Combine(outputDirectory, "last.pt"), model, Optimizer, Epoch, new Dictionary<string, string>
            {
                ["step"] = Step.ToString(CultureInfo.InvariantCulture),
                ["best_top1"] = BestTop1.ToString("R", CultureInfo.InvariantCulture),
                ["seed"] = train.seed.ToString(CultureInfo.InvariantCulture),
            }, Ema);
            card.WriteBeside(Path.Combine(outputDirectory, "last.pt"));

            var result = new EpochResult(Epoch, loss, Optimizer.ParamGroups.First().LearningRate, seconds, images / seconds, evaluation, isBest) { ValidationEma = emaEvaluation };
            File.AppendAllLines(metrics, [JsonSerializer.Serialize(new
            {
                epoch = Epoch, train_loss = loss, lr = result.LearningRate, seconds, images_per_second = result.ImagesPerSecond,
                val_top1 = evaluation?.Top1, val_top5 = evaluation?.Top5, val_loss = evaluation?.Loss,
                val_top1_ema = emaEvaluation?.Top1, val_top5_ema = emaEvaluation?.Top5, val_loss_ema = emaEvaluation?.Loss, is_best = isBest,
            })]);
            TrainingReport.Write(Path.Combine(outputDirectory, "report.html"), $"{card.Architecture} on {card.Categories.Count} classes", metrics);
            WriteEvents(events, result);
            yield return result;
        }
    }

    /// <summary>One pass over <paramref name="train"/>: the mean loss, the seconds it took and the images it saw.</summary>
    (double loss, double seconds, long images) TrainEpoch(ImageFolderLoader train, ILearningRateSchedule schedule, IProgress<TrainingProgress>? progress)
    {
        Epoch++;
        model.train();
        using (NewDisposeScope())
            Optimizer.zero_grad();
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        long images = 0;
        var batch = 0;
        var stepsInEpoch = 0;
        foreach (var (inputs, targets) in train.Batches(Epoch))
        {
            using (var scope = NewDisposeScope())
            {
                scope.Attach(inputs, targets);
                var (x, y) = (inputs, targets);
                if (mixing.Enabled)
                {
                    using var generator = train.BatchGenerator(Epoch, batch);
                    (x, y) = mixing.forward(inputs, targets, generator);
                }
                var loss = nn.functional.cross_entropy(model.call(x.to(device)), y.to(device), label_smoothing: Options.LabelSmoothing);
                (Options.AccumulationSteps == 1 ? loss : loss.div(accumulationSteps)).backward();
                lossSum += loss.item<float>();
                images += inputs.shape[0];
            }
            batch++;
            if (batch % Options.AccumulationSteps == 0 || batch == train.Count)
            {
                OptimizerStep(schedule);
                UpdateEma(stepsInEpoch++);
            }
            progress?.Report(new(Epoch, batch, train.Count, lossSum / batch, images / clock.Elapsed.TotalSeconds, clock.Elapsed));
        }
        if (batch == 0)
            throw new ArgumentException($"No image of {train.SampleCount} in the training set could be read.");
        return (lossSum / batch, clock.Elapsed.TotalSeconds, images);
    }

    void OptimizerStep(ILearningRateSchedule schedule)
    {
        var factor = schedule.Factor(Step);
        var groups = Optimizer.ParamGroups.ToList();
        for (var g = 0; g < groups.Count; g++)
            groups[g].LearningRate = baseLearningRates[g] * factor;
        // TorchSharp's optimizers wrap each gradient in a new handle they never free; the scope frees them.
        using (NewDisposeScope())
        {
            if (Options.ClipGradNorm is { } maxNorm)
                nn.utils.clip_grad_norm_(parameters, maxNorm, 2.0);
            Optimizer.step();
            Optimizer.zero_grad();
        }
        Step++;
    }

    /// <summary>
    /// train.py's EMA update: every <see cref="TrainerOptions.ModelEmaSteps"/>th optimizer step of an epoch, counted
    /// from its first; during warm-up the average restarts after each update, so it copies the weights.
    /// </summary>
    void UpdateEma(int stepInEpoch)
    {
        if (Ema is null || stepInEpoch % Options.ModelEmaSteps != 0)
            return;
        Ema.Update(model);
        if (Epoch - 1 < Options.WarmupEpochs)
            Ema.Averaged = 0;
    }

    /// <summary>The epoch's numbers as TensorBoard scalars, the epoch as the step; grouped as the report's charts are.</summary>
    static void WriteEvents(SummaryWriter events, EpochResult result)
    {
        events.add_scalar("loss/train", result.TrainLoss, result.Epoch);
        events.add_scalar("lr", result.LearningRate, result.Epoch);
        if (result.Validation is { } validation)
        {
            events.add_scalar("loss/validation", validation.Loss, result.Epoch);
            events.add_scalar("accuracy/top1", validation.Top1, result.Epoch);
            events.add_scalar("accuracy/top5", validation.Top5, result.Epoch);
        }
        if (result.ValidationEma is { } average)
        {
            events.add_scalar("loss/validation_ema", average.Loss, result.Epoch);
            events.add_scalar("accuracy/top1_ema", average.Top1, result.Epoch);
            events.add_scalar("accuracy/top5_ema", average.Top5, result.Epoch);
        }
    }

    /// <summary>A resumed run continues the metrics file from its checkpoint's epoch, dropping lines of epochs it will redo.</summary>
    static void KeepMetricsUpTo(string path, long epoch)
    {
        if (!File.Exists(path))
            return;
        var kept = File.ReadAllLines(path).Where(line => JsonDocument.Parse(line).RootElement.GetProperty("epoch").GetInt64() <= epoch).ToList();
        StateDictFiles.WriteAtomically(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            foreach (var line in kept)
                writer.WriteLine(line);
        });
    }

    /// <summary>Frees the optimizer's state and the average. The model is the caller's.</summary>
    public void Dispose()
    {
        Ema?.Dispose();
        Optimizer.Dispose();
        accumulationSteps.Dispose();
    }
}
