using System.Globalization;
using TorchVisionModels.Datasets;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Training;

/// <summary>
/// A fine-tuning run, checked whole before anything trains: the data and its split, the loaders with their presets,
/// the seed (the resumed run's when none is given), the network with its new head, and the card that describes it.
/// Disposing it disposes the network.
/// </summary>
public sealed class FineTuningPlan : IDisposable
{
    FineTuningPlan(ulong seed, IReadOnlyList<string> classes, int trainCount, ImageFolderLoader train, ImageFolderLoader validation, ResNet network, ModelCard card)
        => (Seed, Classes, TrainCount, Train, Validation, Network, Card) = (seed, classes, trainCount, train, validation, network, card);

    /// <summary>The seed of initialisation, shuffling and augmentation.</summary>
    public ulong Seed { get; }

    /// <summary>The class names, the training folder's.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The number of training images.</summary>
    public int TrainCount { get; }

    /// <summary>The training images, augmented as torchvision's reference does.</summary>
    public ImageFolderLoader Train { get; }

    /// <summary>The validation images, with the evaluation preset.</summary>
    public ImageFolderLoader Validation { get; }

    /// <summary>The network to train.</summary>
    public ResNet Network { get; }

    /// <summary>What classify, evaluate and export will read of the trained network.</summary>
    public ModelCard Card { get; }

    /// <summary>Checks <paramref name="options"/> and builds the run; <paramref name="skipped"/> hears of each unreadable image.</summary>
    /// <exception cref="OptionException">An option is invalid, or contradicts another or the data; nothing is built.</exception>
    /// <exception cref="ArgumentException">The weights do not load.</exception>
    public static FineTuningPlan Create(FineTuningOptions options, Action<ImageFileException>? skipped = null)
    {
        if (options.Validation is not null && options.ValidationSplit is { } given)
            throw new OptionException(nameof(options.ValidationSplit), given, "a validation folder is given too; give one or the other");
        var split = options.ValidationSplit ?? 0.1;
        if (split is <= 0 or >= 1)
            throw new OptionException(nameof(options.ValidationSplit), split, "must be between 0 and 1");
        if (options.MinScale is <= 0 or > 1)
            throw new OptionException(nameof(options.MinScale), options.MinScale, "must be in (0, 1]");
        if (options.AutoAugment is { } policy && !ClassificationPresetTrain.AutoAugmentPolicies.Contains(policy))
            throw new OptionException(nameof(options.AutoAugment), policy, $"is not one of {string.Join(", ", ClassificationPresetTrain.AutoAugmentPolicies)}");
        if (options.RaMagnitude is < 0 or > 30)
            throw new OptionException(nameof(options.RaMagnitude), options.RaMagnitude, "must be a bin from 0 to 30");
        if (options.AugmixSeverity is < 1 or > 10)
            throw new OptionException(nameof(options.AugmixSeverity), options.AugmixSeverity, "must be from 1 to 10");
        if (options.RandomErase is < 0 or > 1)
            throw new OptionException(nameof(options.RandomErase), options.RandomErase, "must be a probability, from 0 to 1");
        if (options.TrainCropSize is < 1)
            throw new OptionException(nameof(options.TrainCropSize), options.TrainCropSize, "must be at least 1");
        if (options.Resume is { } resume && !File.Exists(resume))
            throw new OptionException(nameof(options.Resume), resume, "does not exist");
        var seed = options.Seed
            ?? (options.Resume is not null && TrainingCheckpoint.ReadMetadata(options.Resume).TryGetValue("seed", out var saved) ? ulong.Parse(saved, CultureInfo.InvariantCulture) : 0);

        var trainSet = Dataset(options.Data, nameof(options.Data));
        var valSet = options.Validation is { } valDirectory ? Dataset(valDirectory, nameof(options.Validation)) : trainSet;
        if (!valSet.classes.SequenceEqual(trainSet.classes))
            throw new OptionException(nameof(options.Validation), valSet.root,
                $"has the classes {string.Join(", ", valSet.classes)}; the training images have {string.Join(", ", trainSet.classes)}. They must be the same");
        var (trainIndices, valIndices) = ReferenceEquals(valSet, trainSet) ? RandomSplit.Indices(trainSet.Count, split, seed) : (null, null);
        var trainCount = trainIndices?.Count ?? trainSet.Count;
        if (options.RaReps < 1)
            throw new OptionException(nameof(options.RaReps), options.RaReps, "must be at least 1");
        if (options.RaReps > 1 && trainCount < 256)
            throw new OptionException(nameof(options.RaReps), options.RaReps,
                $"repeated augmentation keeps the training images rounded down to a multiple of 256, and there are {trainCount}", (nameof(options.RaReps), 1));
        var trainSamples = options.RaReps > 1 ? trainCount / 256 * 256 : trainCount;
        if (options.BatchSize > trainSamples)
            throw new OptionException(nameof(options.BatchSize), options.BatchSize, $"more than the {trainSamples} training images{(options.RaReps > 1 ? " an epoch" : "")}", (nameof(options.BatchSize), trainSamples));

        // Evaluation uses the preset of the weights it starts from, unless told otherwise, as torchvision's reference does.
        // A run resumed without its weights named goes on as its card describes it: network and preprocessing.
        var resumed = options.Resume is { } resumeFile && options.Weights is null ? ModelCard.Beside(resumeFile) : null;
        var architecture = FineTuning.ArchitectureFor(options.Architecture ?? resumed?.Architecture, options.Weights);
        var preset = resumed?.Transforms.ToPreset() ?? FineTuning.EvaluationPreset(architecture, options.Weights);
        if (options.Interpolation is { } name && ModelCard.Interpolations.All(i => i.Name != name))
            throw new OptionException(nameof(options.Interpolation), name, $"is not one of {string.Join(", ", ModelCard.Interpolations.Select(i => i.Name))}");
        var evalPreset = preset with
        {
            crop_size = options.CropSize ?? preset.crop_size,
            resize_size = options.ResizeSize ?? preset.resize_size,
            interpolation = options.Interpolation is { } chosen ? ModelCard.Interpolations.Single(i => i.Name == chosen).Mode : preset.interpolation,
        };
        if (evalPreset.crop_size < 1)
            throw new OptionException(nameof(options.CropSize), evalPreset.crop_size, "must be at least 1");
        if (evalPreset.resize_size < 1)
            throw new OptionException(nameof(options.ResizeSize), evalPreset.resize_size, "must be at least 1");
        if (options.AutoAugment == "augmix" && evalPreset.interpolation == InterpolationMode.Bicubic)
            throw new OptionException(nameof(options.Interpolation), "bicubic", "AugMix's operations run on tensors, which torchvision samples nearest or bilinear",
                (nameof(options.Interpolation), "bilinear"));
        var trainCrop = options.TrainCropSize ?? evalPreset.crop_size;
        // A mean image fixes the size of what the network sees, in training and in evaluation.
        if (preset.MeanImage is not null)
        {
            foreach (var (option, size) in new[] { (nameof(options.CropSize), evalPreset.crop_size), (nameof(options.TrainCropSize), trainCrop) })
                if (size != preset.crop_size)
                    throw new OptionException(option, size, $"the weights' preprocessing subtracts a {preset.crop_size}x{preset.crop_size} mean image", (option, preset.crop_size));
        }

        manual_seed((long)seed);
        var norm = options.NormLayer ?? (options.FreezeBackbone ? "frozen-bn" : "bn");
        var network = resumed is { Architecture: ModelCard.CustomArchitecture } && architecture == ModelCard.CustomArchitecture
            ? (resumed with { NormLayer = norm, ReplaceStrideWithDilation = options.ReplaceStrideWithDilation ?? resumed.ReplaceStrideWithDilation }).Build()
            : FineTuning.Prepare(architecture, trainSet.classes.Count, options.Weights, norm, options.ReplaceStrideWithDilation,
                options.ZeroInitResidual, options.FreezeBackbone, options.Progress);
        var card = ModelCard.For(network, architecture, trainSet.classes, evalPreset, FineTuning.Origin(architecture, options.Weights));
        // Trained on the inputs it is evaluated on: the same normalisation as the evaluation preset.
        var trainPreset = new ClassificationPresetTrain(trainCrop)
        {
            mean = evalPreset.mean,
            std = evalPreset.std,
            ChannelOrder = evalPreset.ChannelOrder,
            MeanImage = evalPreset.MeanImage,
            interpolation = evalPreset.interpolation,
            scale = (options.MinScale, 1.0),
            auto_augment_policy = options.AutoAugment,
            ra_magnitude = options.RaMagnitude,
            augmix_severity = options.AugmixSeverity,
            random_erase_prob = options.RandomErase,
        };
        var train = new ImageFolderLoader(trainSet, trainPreset.forward,
            options.BatchSize, shuffle: true, drop_last: true, num_workers: options.Workers, seed: seed, indices: trainIndices, repetitions: options.RaReps);
        var validation = new ImageFolderLoader(valSet, (image, _) => evalPreset.forward(image), options.BatchSize, num_workers: options.Workers, indices: valIndices);
        if (skipped is not null)
        {
            train.Skipped += skipped;
            validation.Skipped += skipped;
        }
        return new(seed, trainSet.classes, trainCount, train, validation, network, card);
    }

    static ImageFolder Dataset(string directory, string option)
    {
        if (!Directory.Exists(directory))
            throw new OptionException(option, directory, "does not exist");
        var dataset = new ImageFolder(directory);
        if (dataset.classes.Count < 2)
            throw new OptionException(option, directory, $"has one class folder ({dataset.classes[0]}); a classifier needs at least two");
        return dataset;
    }

    /// <summary>Disposes the network.</summary>
    public void Dispose() => Network.Dispose();
}
