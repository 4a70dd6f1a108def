using TorchVisionModels.Transforms;

namespace TorchVisionModels.Training;

/// <summary>What a fine-tuning run is asked to do, before anything is checked: <see cref="FineTuningPlan.Create"/> checks it.</summary>
public sealed record FineTuningOptions
{
    /// <summary>Training images: one sub-folder per class.</summary>
    public required string Data { get; init; }

    /// <summary>Validation images with the same class folders; null to hold out <see cref="ValidationSplit"/> of <see cref="Data"/>.</summary>
    public string? Validation { get; init; }

    /// <summary>The fraction of <see cref="Data"/> held out for validation without <see cref="Validation"/>; null for 0.1.</summary>
    public double? ValidationSplit { get; init; }

    /// <summary>The builder's name; null for the one the weights fix (a backbone's, a card's), else resnet50.</summary>
    public string? Architecture { get; init; }

    /// <summary>
    /// torchvision's weights by name (DEFAULT, IMAGENET1K_V1, ...), a pretrained backbone by name (mlnet-resnet18: see
    /// <see cref="Backbones.PretrainedBackbone"/>) or a checkpoint file; null for random initialisation.
    /// </summary>
    public string? Weights { get; init; }

    /// <summary>The norm layer's kind (<see cref="NormKinds"/>); null for bn, or frozen-bn with <see cref="FreezeBackbone"/>.</summary>
    public string? NormLayer { get; init; }

    /// <summary>torchvision's <c>replace_stride_with_dilation</c>; null for none.</summary>
    public IReadOnlyList<bool>? ReplaceStrideWithDilation { get; init; }

    /// <summary>torchvision's <c>zero_init_residual</c>.</summary>
    public bool ZeroInitResidual { get; init; }

    /// <summary>Train only the new head, with batch norm frozen.</summary>
    public bool FreezeBackbone { get; init; }

    /// <summary>Images per batch.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>The side of the square the network sees; null for the weights' preset, else 224.</summary>
    public int? CropSize { get; init; }

    /// <summary>Validation's shorter side before the center crop; null for the weights' preset, else 256.</summary>
    public int? ResizeSize { get; init; }

    /// <summary>The side of the training crop, train.py's <c>--train-crop-size</c>; null for <see cref="CropSize"/>'s.</summary>
    public int? TrainCropSize { get; init; }

    /// <summary>RandomResizedCrop's smallest area, as a fraction of the image.</summary>
    public double MinScale { get; init; } = 0.08;

    /// <summary>
    /// train.py's <c>--interpolation</c>, PIL's filter for every resize and the augmentations' geometry: bilinear or
    /// bicubic (<see cref="ModelCard.Interpolations"/>); null for the weights' preset's (bilinear for torchvision's).
    /// </summary>
    public string? Interpolation { get; init; }

    /// <summary>train.py's <c>--auto-augment</c>: one of <see cref="ClassificationPresetTrain.AutoAugmentPolicies"/>, or null for none.</summary>
    public string? AutoAugment { get; init; }

    /// <summary>train.py's <c>--ra-magnitude</c>: RandAugment's magnitude bin (of 31).</summary>
    public int RaMagnitude { get; init; } = 9;

    /// <summary>train.py's <c>--augmix-severity</c>: AugMix's magnitude bins, 1 to 10, with <see cref="AutoAugment"/> augmix.</summary>
    public int AugmixSeverity { get; init; } = 3;

    /// <summary>train.py's <c>--random-erase</c>: the probability of erasing a rectangle of each training image.</summary>
    public double RandomErase { get; init; }

    /// <summary>train.py's <c>--ra-reps</c> with <c>--ra-sampler</c>: each image this many times an epoch, differently augmented (1: no repetition).</summary>
    public int RaReps { get; init; } = 1;

    /// <summary>Threads decoding and augmenting images.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Seed of initialisation, shuffling and augmentation; null for the resumed run's, else 0.</summary>
    public ulong? Seed { get; init; }

    /// <summary>A last.pt to continue from, or null.</summary>
    public string? Resume { get; init; }

    /// <summary>Show a download's progress.</summary>
    public bool Progress { get; init; } = true;
}
