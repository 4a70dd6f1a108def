using TorchVisionModels;
using TorchVisionModels.Classification;
using TorchVisionModels.Training;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary>The library's options as the command line spells them, for its refusals (<see cref="OptionException"/>).</summary>
static class OptionNames
{
    static readonly Dictionary<string, string> Names = new()
    {
        [nameof(ClassifierOptions.Backend)] = "--backend",
        [nameof(ClassifierOptions.Device)] = "--device",
        [nameof(ClassifierOptions.Dtype)] = "--dtype",
        [nameof(ClassifierOptions.Fast)] = "--fast",
        [nameof(ClassifierOptions.Calibration)] = "--calibration",
        [$"{nameof(ClassifierOptions.Calibration)}.{nameof(CalibrationSet.Count)}"] = "--calibration-count",
        [nameof(FineTuningOptions.Weights)] = "--weights",
        [nameof(FineTuningOptions.Architecture)] = "--model",
        [nameof(FineTuningOptions.Data)] = "--data",
        [nameof(FineTuningOptions.Validation)] = "--val",
        [nameof(FineTuningOptions.ValidationSplit)] = "--val-split",
        [nameof(FineTuningOptions.NormLayer)] = "--norm",
        [nameof(FineTuningOptions.FreezeBackbone)] = "--freeze-backbone",
        [nameof(FineTuningOptions.BatchSize)] = "--batch-size",
        [nameof(FineTuningOptions.CropSize)] = "--crop-size",
        [nameof(FineTuningOptions.ResizeSize)] = "--resize-size",
        [nameof(FineTuningOptions.MinScale)] = "--min-scale",
        [nameof(FineTuningOptions.Resume)] = "--resume",
        [nameof(FineTuningOptions.TrainCropSize)] = "--train-crop-size",
        [nameof(FineTuningOptions.AutoAugment)] = "--auto-augment",
        [nameof(FineTuningOptions.Interpolation)] = "--interpolation",
        [nameof(FineTuningOptions.RaMagnitude)] = "--ra-magnitude",
        [nameof(FineTuningOptions.AugmixSeverity)] = "--augmix-severity",
        [nameof(FineTuningOptions.RandomErase)] = "--random-erase",
        [nameof(FineTuningOptions.RaReps)] = "--ra-reps",
        ["Recipe"] = "--recipe",
        [nameof(TrainerOptions.MixupAlpha)] = "--mixup-alpha",
        [nameof(TrainerOptions.CutmixAlpha)] = "--cutmix-alpha",
        [nameof(TrainerOptions.ClipGradNorm)] = "--clip-grad-norm",
        [nameof(TrainerOptions.NormWeightDecay)] = "--norm-weight-decay",
        [nameof(TrainerOptions.BiasWeightDecay)] = "--bias-weight-decay",
        [nameof(TrainerOptions.ModelEmaSteps)] = "--model-ema-steps",
        [nameof(TrainerOptions.ModelEmaDecay)] = "--model-ema-decay",
        [nameof(TrainerOptions.WarmupDecay)] = "--lr-warmup-decay",
        [nameof(TrainerOptions.Gamma)] = "--lr-gamma",
        [nameof(TorchVisionModels.Datasets.Shard)] = "--shard",
        [TorchVisionModels.Datasets.Shard.IndexedJobOption] = "--shards",
        [ResultsFile.OptionName] = "--output",
    };

    /// <summary>The refusal, said with the command line's names: <c>--dtype float16: ...; use --backend torch.</c></summary>
    public static string Message(OptionException e)
        => $"{Option(e.Option, e.Value)}: {e.Problem}{(e.Fix is { } fix ? $"; use {Option(fix.Option, fix.Value)}" : "")}.";

    // Options given by presence alone, whose value goes without saying.
    static readonly HashSet<string> Flags = [nameof(FineTuningOptions.FreezeBackbone)];

    static string Option(string option, object value) => Flags.Contains(option) ? Names[option] : $"{Names[option]} {Value(value)}";

    static string Value(object value) => value switch
    {
        InferenceBackend backend => RunOptions.Name(backend),
        ScalarType dtype => RunOptions.Name(dtype),
        bool flag => flag ? "true" : "false",
        IFormattable number => number.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };
}
