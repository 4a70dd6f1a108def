using System.CommandLine;
using System.Globalization;
using TorchVisionModels;
using TorchVisionModels.Training;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary>
/// <c>finetune</c>: trains a ResNet on an ImageFolder tree, from scratch or from pretrained weights, and keeps
/// last.pt, best.pt, metrics.jsonl, report.html and TensorBoard's event file current in the output folder. Every input is checked before training starts.
/// </summary>
static class FinetuneCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var data = new Option<string>("--data") { Description = "Training images: one sub-folder per class", Required = true };
        var val = new Option<string?>("--val") { Description = "Validation images, with the same class folders" };
        var valSplit = new Option<double?>("--val-split") { Description = "Hold out this fraction of --data for validation (default 0.1 without --val)" };
        var weights = new Option<string?>("--weights") { Description = "Start from DEFAULT, IMAGENET1K_V1, ... or a checkpoint file (default: random initialisation)" };
        var freeze = new Option<bool>("--freeze-backbone") { Description = "Train only the new head; batch norm frozen (implies --norm frozen-bn)" };
        var epochs = OptionRules.Positive(new Option<int>("--epochs") { Description = "Passes over the training images", DefaultValueFactory = _ => 10 });
        var batchSize = OptionRules.Positive(new Option<int>("--batch-size") { Description = "Images per batch", DefaultValueFactory = _ => 32 });
        var accumulate = OptionRules.Positive(new Option<int>("--accumulate") { Description = "Batches per optimizer step (gradient accumulation)", DefaultValueFactory = _ => 1 });
        var lr = new Option<double>("--lr") { Description = "Learning rate", DefaultValueFactory = _ => 0.01 };
        var headLr = new Option<double?>("--head-lr") { Description = "Learning rate of the new head (default: --lr)" };
        var optimizer = new Option<string>("--optimizer") { Description = "sgd (Nesterov momentum) or adamw", DefaultValueFactory = _ => "sgd" };
        optimizer.AcceptOnlyFromAmong("sgd", "adamw");
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => 0.9 };
        var weightDecay = new Option<double>("--weight-decay") { Description = "Weight decay", DefaultValueFactory = _ => 1e-4 };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing of the loss", DefaultValueFactory = _ => 0.0 };
        var schedule = new Option<string>("--schedule") { Description = "cosine (after --warmup-epochs) or step (x0.1 every --step-epochs)", DefaultValueFactory = _ => "cosine" };
        schedule.AcceptOnlyFromAmong("cosine", "step");
        var warmup = new Option<int>("--warmup-epochs") { Description = "Epochs of linear warm-up", DefaultValueFactory = _ => 0 };
        var stepEpochs = OptionRules.Positive(new Option<int>("--step-epochs") { Description = "Epochs between learning-rate steps", DefaultValueFactory = _ => 30 });
        var cropSize = new Option<int?>("--crop-size") { Description = "Side of the square the network sees (default: the weights' preset, else 224)" };
        var resizeSize = new Option<int?>("--resize-size") { Description = "Validation: shorter side before the center crop (default: the weights' preset, else 256)" };
        var minScale = new Option<double>("--min-scale") { Description = "RandomResizedCrop's smallest area, as a fraction of the image", DefaultValueFactory = _ => 0.08 };
        var workers = OptionRules.Positive(new Option<int>("--workers") { Description = "Threads decoding and augmenting images", DefaultValueFactory = _ => 2 });
        var threads = new Option<int>("--threads") { Description = "Threads for TorchSharp's kernels (0: its default)" };
        var device = RunOptions.CreateDevice();
        var output = new Option<string>("--out") { Description = "Folder for last.pt, best.pt, metrics.jsonl, report.html and TensorBoard's event files", Required = true };
        var resume = new Option<string?>("--resume") { Description = "Continue from a last.pt" };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of initialisation, shuffling and augmentation (default 0, or the resumed run's)" };

        var command = new Command("finetune", "Fine-tune a ResNet (or train one from scratch) on a folder of labelled images.")
        {
            data, val, valSplit, weights, freeze, epochs, batchSize, accumulate, lr, headLr, optimizer, momentum, weightDecay,
            labelSmoothing, schedule, warmup, stepEpochs, cropSize, resizeSize, minScale, workers, threads, device, output, resume, seed,
        };
        foreach (var option in model.Architecture)
            command.Options.Add(option);

        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            var stdout = result.InvocationConfiguration.Output;
            if (result.GetValue(threads) > 0)
                set_num_threads(result.GetValue(threads));
            var on = Devices.Resolve(result.GetValue(device));
            NativeAllocator.KeepFreedMemory();
            var architecture = result.GetValue(model.Model)!;
            var skipped = 0;
            void Warn(ImageFileException e)
            {
                if (Interlocked.Increment(ref skipped) <= 10)
                    result.InvocationConfiguration.Error.WriteLine($"warning: skipped {e.Message}");
            }
            var resumeFrom = result.GetValue(resume);
            using var plan = FineTuningPlan.Create(new FineTuningOptions
            {
                Data = result.GetValue(data)!,
                Validation = result.GetValue(val),
                ValidationSplit = result.GetValue(valSplit),
                Architecture = architecture,
                Weights = result.GetValue(weights),
                NormLayer = result.GetResult(model.Norm) is { Implicit: false } ? result.GetValue(model.Norm) : null,
                ReplaceStrideWithDilation = model.ReplaceStrideWithDilationOf(result),
                ZeroInitResidual = result.GetValue(model.ZeroInitResidual),
                FreezeBackbone = result.GetValue(freeze),
                BatchSize = result.GetValue(batchSize),
                CropSize = result.GetValue(cropSize),
                ResizeSize = result.GetValue(resizeSize),
                MinScale = result.GetValue(minScale),
                Workers = result.GetValue(workers),
                Seed = result.GetValue(seed),
                Resume = resumeFrom,
            }, Warn);
            var options = new TrainerOptions
            {
                Epochs = result.GetValue(epochs),
                LearningRate = result.GetValue(lr),
                HeadLearningRate = result.GetValue(headLr),
                Optimizer = result.GetValue(optimizer) == "adamw" ? OptimizerKind.AdamW : OptimizerKind.Sgd,
                Momentum = result.GetValue(momentum),
                WeightDecay = result.GetValue(weightDecay),
                LabelSmoothing = result.GetValue(labelSmoothing),
                Schedule = result.GetValue(schedule) == "step" ? ScheduleKind.Step : ScheduleKind.Cosine,
                WarmupEpochs = result.GetValue(warmup),
                StepEpochs = result.GetValue(stepEpochs),
                AccumulationSteps = result.GetValue(accumulate),
            };
            using var trainer = new Trainer(plan.Network, options, on);
            if (resumeFrom is not null)
                trainer.Resume(resumeFrom);

            stdout.WriteLine($"{architecture} on {on}: {plan.TrainCount} training images, {plan.Validation.SampleCount} validation, {plan.Classes.Count} classes; epochs {trainer.Epoch + 1}..{options.Epochs}, seed {plan.Seed}");
            var outputDirectory = result.GetValue(output)!;
            var progress = new TrainingProgressDisplay(result.InvocationConfiguration.Error, terminal: !Console.IsErrorRedirected, options.Epochs);
            var results = new List<EpochResult>();
            foreach (var epoch in trainer.Fit(plan.Train, plan.Validation, outputDirectory, plan.Card, progress))
            {
                results.Add(epoch);
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch.Epoch}/{options.Epochs}  loss {epoch.TrainLoss:F4}  lr {epoch.LearningRate:G4}  val top-1 {epoch.Validation!.Top1:F2}%  top-5 {epoch.Validation.Top5:F2}%  {epoch.Seconds:F1} s  {epoch.ImagesPerSecond:F0} img/s{(epoch.IsBest ? "  (best)" : "")}"));
            }
            if (results.Count > 0)
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"done: best val top-1 {trainer.BestTop1:F2}%, {results.Average(r => r.Seconds):F1} s per epoch; weights in {Path.Combine(outputDirectory, "best.pt")}, described by {ModelCard.PathFor(Path.Combine(outputDirectory, "best.pt"))}, which classify, evaluate and export read"));
            else
                stdout.WriteLine($"nothing to do: {resumeFrom} already finished epoch {trainer.Epoch} of {options.Epochs}.");
            return 0;
        }));
        return command;
    }
}
