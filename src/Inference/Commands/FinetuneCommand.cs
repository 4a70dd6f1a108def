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
/// Options follow train.py's names (its spelling is an alias where ours came first); a <c>--recipe</c>, or the card of
/// the run <c>--resume</c> continues, supplies what is not given, and the card records every setting used.
/// </summary>
static class FinetuneCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var data = new Option<string>("--data") { Description = "Training images: one sub-folder per class", Required = true };
        var val = new Option<string?>("--val") { Description = "Validation images, with the same class folders" };
        var valSplit = new Option<double?>("--val-split") { Description = "Hold out this fraction of --data for validation (default 0.1 without --val)" };
        var weights = new Option<string?>("--weights") { Description = "Start from DEFAULT, IMAGENET1K_V1, ..., mlnet-resnet18 (ImageNet features from NuGet, no download.pytorch.org needed) or a checkpoint file (default: random initialisation)" };
        var freeze = new Option<bool>("--freeze-backbone") { Description = "Train only the new head; batch norm frozen (implies --norm frozen-bn)" };
        var recipe = new Option<string?>("--recipe") { Description = $"Start from a named recipe's settings, which options given here override: {string.Join(", ", TrainingRecipes.All.Keys)} (torchvision's IMAGENET1K_V2 recipe)" };
        var epochs = OptionRules.Positive(new Option<int>("--epochs") { Description = "Passes over the training images", DefaultValueFactory = _ => 10 });
        var batchSize = OptionRules.Positive(new Option<int>("--batch-size", "-b") { Description = "Images per batch", DefaultValueFactory = _ => 32 });
        var accumulate = OptionRules.Positive(new Option<int>("--accumulate") { Description = "Batches per optimizer step (gradient accumulation)", DefaultValueFactory = _ => 1 });
        var lr = new Option<double>("--lr") { Description = "Learning rate (with --recipe and another --batch-size: the recipe's, scaled linearly)", DefaultValueFactory = _ => 0.01 };
        var headLr = new Option<double?>("--head-lr") { Description = "Learning rate of the new head (default: --lr)" };
        var optimizer = new Option<string>("--optimizer", "--opt") { Description = "sgd (Nesterov momentum), sgd-momentum (plain momentum: train.py's sgd) or adamw", DefaultValueFactory = _ => "sgd" };
        optimizer.AcceptOnlyFromAmong("sgd", "sgd-momentum", "adamw");
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => 0.9 };
        var weightDecay = new Option<double>("--weight-decay", "--wd") { Description = "Weight decay", DefaultValueFactory = _ => 1e-4 };
        var normWeightDecay = new Option<double?>("--norm-weight-decay") { Description = "Weight decay of norm layers' parameters (default: --weight-decay)" };
        var biasWeightDecay = new Option<double?>("--bias-weight-decay") { Description = "Weight decay of every bias (default: its layer's)" };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing of the loss", DefaultValueFactory = _ => 0.0 };
        var schedule = new Option<string>("--schedule", "--lr-scheduler") { Description = "After the warm-up: cosine (cosineannealinglr), step (steplr: x--lr-gamma every --step-epochs) or exponential (exponentiallr: x--lr-gamma an epoch)", DefaultValueFactory = _ => "cosine" };
        schedule.AcceptOnlyFromAmong("cosine", "step", "exponential", "cosineannealinglr", "steplr", "exponentiallr");
        var warmup = new Option<int>("--warmup-epochs", "--lr-warmup-epochs") { Description = "Epochs of warm-up", DefaultValueFactory = _ => 0 };
        var warmupMethod = new Option<string>("--lr-warmup-method") { Description = "linear (from --lr-warmup-decay to 1) or constant (at --lr-warmup-decay)", DefaultValueFactory = _ => "linear" };
        warmupMethod.AcceptOnlyFromAmong("linear", "constant");
        var warmupDecay = new Option<double>("--lr-warmup-decay") { Description = "The warm-up's factor of the learning rate", DefaultValueFactory = _ => 0.01 };
        var stepEpochs = OptionRules.Positive(new Option<int>("--step-epochs", "--lr-step-size") { Description = "Epochs between learning-rate steps", DefaultValueFactory = _ => 30 });
        var gamma = new Option<double>("--lr-gamma") { Description = "The step and exponential schedules' factor", DefaultValueFactory = _ => 0.1 };
        var cropSize = new Option<int?>("--crop-size", "--val-crop-size") { Description = "Side of the square the network sees in validation, and in training without --train-crop-size (default: the weights' preset, else 224)" };
        var trainCropSize = new Option<int?>("--train-crop-size") { Description = "Side of the training crops (default: --crop-size)" };
        var resizeSize = new Option<int?>("--resize-size", "--val-resize-size") { Description = "Validation: shorter side before the center crop (default: the weights' preset, else 256)" };
        var minScale = new Option<double>("--min-scale") { Description = "RandomResizedCrop's smallest area, as a fraction of the image", DefaultValueFactory = _ => 0.08 };
        var interpolation = new Option<string?>("--interpolation") { Description = "PIL's filter for resizing and the augmentations' geometry: bilinear or bicubic (default: the weights' preset, else bilinear)" };
        var autoAugment = new Option<string?>("--auto-augment") { Description = $"Automatic augmentation: {string.Join(", ", ClassificationPresetTrain.AutoAugmentPolicies)} (RandAugment, TrivialAugmentWide, AugMix, AutoAugment's policies)" };
        var raMagnitude = new Option<int>("--ra-magnitude") { Description = "RandAugment's magnitude bin, 0 to 30", DefaultValueFactory = _ => 9 };
        var augmixSeverity = new Option<int>("--augmix-severity") { Description = "AugMix's severity, 1 to 10", DefaultValueFactory = _ => 3 };
        var randomErase = new Option<double>("--random-erase") { Description = "Probability of erasing a random rectangle of each training image", DefaultValueFactory = _ => 0.0 };
        var raReps = new Option<int>("--ra-reps") { Description = "Repeated augmentation: each image this many times an epoch, the epoch cut to a multiple of 256 (1: off)", DefaultValueFactory = _ => 1 };
        var mixupAlpha = new Option<double>("--mixup-alpha") { Description = "Mix batches with mixup at this Beta parameter (0: off)", DefaultValueFactory = _ => 0.0 };
        var cutmixAlpha = new Option<double>("--cutmix-alpha") { Description = "Mix batches with cutmix at this Beta parameter (0: off); with --mixup-alpha, each batch gets one of the two", DefaultValueFactory = _ => 0.0 };
        var clipGradNorm = new Option<double?>("--clip-grad-norm") { Description = "Clip the gradients' total L2 norm to this" };
        var modelEma = new Option<bool>("--model-ema") { Description = "Keep a moving average of the weights, evaluated and checkpointed beside them" };
        var modelEmaSteps = new Option<int>("--model-ema-steps") { Description = "Optimizer steps between updates of the average", DefaultValueFactory = _ => 32 };
        var modelEmaDecay = new Option<double>("--model-ema-decay") { Description = "The average's decay, before train.py's adjustment for batch size and epochs", DefaultValueFactory = _ => 0.99998 };
        var workers = OptionRules.Positive(new Option<int>("--workers") { Description = "Threads decoding and augmenting images", DefaultValueFactory = _ => 2 });
        var threads = new Option<int>("--threads") { Description = "Threads for TorchSharp's kernels (0: its default)" };
        var device = RunOptions.CreateDevice();
        var output = new Option<string>("--out") { Description = "Folder for last.pt, best.pt, metrics.jsonl, report.html and TensorBoard's event files", Required = true };
        var resume = new Option<string?>("--resume") { Description = "Continue from a last.pt" };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of initialisation, shuffling and augmentation (default 0, or the resumed run's)" };

        var command = new Command("finetune", "Fine-tune a ResNet (or train one from scratch) on a folder of labelled images.")
        {
            data, val, valSplit, weights, freeze, recipe, epochs, batchSize, accumulate, lr, headLr, optimizer, momentum, weightDecay,
            normWeightDecay, biasWeightDecay, labelSmoothing, schedule, warmup, warmupMethod, warmupDecay, stepEpochs, gamma, cropSize,
            trainCropSize, resizeSize, interpolation, minScale, autoAugment, raMagnitude, augmixSeverity, randomErase, raReps, mixupAlpha, cutmixAlpha, clipGradNorm,
            modelEma, modelEmaSteps, modelEmaDecay, workers, threads, device, output, resume, seed,
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
            var architecture = ArchitectureOption.Given(result, model.Model);
            var skipped = 0;
            void Warn(ImageFileException e)
            {
                if (Interlocked.Increment(ref skipped) <= 10)
                    result.InvocationConfiguration.Error.WriteLine($"warning: skipped {e.Message}");
            }
            var resumeFrom = result.GetValue(resume);
            // A recipe's settings, else those of the run being resumed, fill in what the command line leaves out.
            var recipeSettings = result.GetValue(recipe) is { } name ? TrainingRecipes.Named(name) : null;
            var settings = new TrainingSettings(result, recipeSettings ?? (resumeFrom is null ? null : ModelCard.Beside(resumeFrom)?.Training));
            var (batch, accumulation) = (settings.Get(batchSize), settings.Get(accumulate));
            var learningRate = settings.Get(lr);
            if (recipeSettings is not null && !settings.Given(lr) && (settings.Given(batchSize) || settings.Given(accumulate)))
                settings.Set(lr, learningRate = TrainingRecipes.LearningRateFor(recipeSettings, batch * accumulation));
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
                BatchSize = batch,
                CropSize = settings.Get(cropSize),
                TrainCropSize = settings.Get(trainCropSize),
                ResizeSize = settings.Get(resizeSize),
                MinScale = settings.Get(minScale),
                Interpolation = settings.Get(interpolation),
                AutoAugment = settings.Get(autoAugment),
                RaMagnitude = settings.Get(raMagnitude),
                AugmixSeverity = settings.Get(augmixSeverity),
                RandomErase = settings.Get(randomErase),
                RaReps = settings.Get(raReps),
                Workers = result.GetValue(workers),
                Seed = result.GetValue(seed),
                Resume = resumeFrom,
            }, Warn);
            var optimizerName = settings.Get(optimizer);
            var options = new TrainerOptions
            {
                Epochs = settings.Get(epochs),
                LearningRate = learningRate,
                HeadLearningRate = settings.Get(headLr),
                Optimizer = optimizerName == "adamw" ? OptimizerKind.AdamW : OptimizerKind.Sgd,
                Nesterov = optimizerName == "sgd",
                Momentum = settings.Get(momentum),
                WeightDecay = settings.Get(weightDecay),
                NormWeightDecay = settings.Get(normWeightDecay),
                BiasWeightDecay = settings.Get(biasWeightDecay),
                LabelSmoothing = settings.Get(labelSmoothing),
                Schedule = settings.Get(schedule) switch
                {
                    "step" or "steplr" => ScheduleKind.Step,
                    "exponential" or "exponentiallr" => ScheduleKind.Exponential,
                    _ => ScheduleKind.Cosine,
                },
                WarmupEpochs = settings.Get(warmup),
                WarmupMethod = settings.Get(warmupMethod) == "constant" ? WarmupMethod.Constant : WarmupMethod.Linear,
                WarmupDecay = settings.Get(warmupDecay),
                StepEpochs = settings.Get(stepEpochs),
                Gamma = settings.Get(gamma),
                AccumulationSteps = accumulation,
                MixupAlpha = settings.Get(mixupAlpha),
                CutmixAlpha = settings.Get(cutmixAlpha),
                ClipGradNorm = settings.Get(clipGradNorm),
                ModelEma = settings.Get(modelEma),
                ModelEmaSteps = settings.Get(modelEmaSteps),
                ModelEmaDecay = settings.Get(modelEmaDecay),
            };
            using var trainer = new Trainer(plan.Network, options, on, options.ModelEma ? plan.Card.Build() : null);
            if (resumeFrom is not null)
                trainer.Resume(resumeFrom);
            var card = plan.Card with { Training = settings.Used };

            stdout.WriteLine($"{plan.Card.ArchitectureName} on {on}: {plan.TrainCount} training images, {plan.Validation.SampleCount} validation, {plan.Classes.Count} classes; epochs {trainer.Epoch + 1}..{options.Epochs}, seed {plan.Seed}");
            var outputDirectory = result.GetValue(output)!;
            var progress = new TrainingProgressDisplay(result.InvocationConfiguration.Error, terminal: !Console.IsErrorRedirected, options.Epochs);
            var results = new List<EpochResult>();
            foreach (var epoch in trainer.Fit(plan.Train, plan.Validation, outputDirectory, card, progress))
            {
                results.Add(epoch);
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch.Epoch}/{options.Epochs}  loss {epoch.TrainLoss:F4}  lr {epoch.LearningRate:G4}  val top-1 {epoch.Validation!.Top1:F2}%  top-5 {epoch.Validation.Top5:F2}%{(epoch.ValidationEma is { } ema ? $"  EMA top-1 {ema.Top1:F2}%" : "")}  {epoch.Seconds:F1} s  {epoch.ImagesPerSecond:F0} img/s{(epoch.IsBest ? "  (best)" : "")}"));
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
