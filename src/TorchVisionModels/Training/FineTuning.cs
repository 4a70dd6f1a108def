using TorchSharp.Modules;
using TorchVisionModels.Backbones;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Training;

/// <summary>
/// The usual steps of fine-tuning a pretrained ResNet: a new head for the task's classes, a frozen backbone, and
/// parameter groups with their own learning rates.
/// </summary>
public static class FineTuning
{
    /// <summary>
    /// The architecture a run trains: the one the weights fix (a <see cref="PretrainedBackbone"/>'s, or the card's of a
    /// checkpoint file), else <paramref name="architecture"/>, else resnet50.
    /// </summary>
    /// <exception cref="OptionException">The architecture given is not the one the weights fix.</exception>
    public static string ArchitectureFor(string? architecture, string? weights)
    {
        var (fixedBy, required) = PretrainedBackbone.Named(weights) is { } backbone ? (backbone.ToString(), (Name: ModelCard.CustomArchitecture, Shown: backbone.ArchitectureName))
            : weights is not null && File.Exists(weights) && ModelCard.Beside(weights) is { } card ? (Path.GetFileName(weights), (Name: card.Architecture, Shown: card.ArchitectureName))
            : (null, default);
        if (fixedBy is null)
            return architecture ?? "resnet50";
        return architecture is null || architecture == required.Name ? required.Name
            : throw new OptionException(nameof(FineTuningOptions.Architecture), architecture, $"the weights {fixedBy} are {required.Shown}; leave the architecture to them");
    }

    /// <summary>
    /// The network to train for <paramref name="numClasses"/> classes: <paramref name="architecture"/> with random
    /// weights, or with <paramref name="weights"/> (torchvision's by name, a <see cref="PretrainedBackbone"/> by name,
    /// or a checkpoint file, built as its card says if it has one) and a new head when their class count differs; with
    /// <paramref name="freezeBackbone"/>, FrozenBatchNorm2d and only the head trainable. The builder options are
    /// torchvision's. <paramref name="architecture"/> is <see cref="ArchitectureFor"/>'s.
    /// </summary>
    /// <exception cref="OptionException">A frozen backbone without weights, or with a norm layer other than frozen-bn; weights that are neither known nor a file.</exception>
    /// <exception cref="WeightsDownloadException">The weights are not here and cannot be fetched.</exception>
    /// <exception cref="InvalidDataException">A backbone's files are damaged or not the network they should be.</exception>
    public static ResNet Prepare(string architecture, long numClasses, string? weights = null, string normLayer = "bn",
        IReadOnlyList<bool>? replaceStrideWithDilation = null, bool zeroInitResidual = false, bool freezeBackbone = false, bool progress = true)
    {
        if (freezeBackbone && weights is null)
            throw new OptionException(nameof(FineTuningOptions.FreezeBackbone), true, "a randomly initialised backbone is not worth freezing",
                (nameof(FineTuningOptions.Weights), "DEFAULT"));
        if (freezeBackbone && normLayer != "frozen-bn")
            throw new OptionException(nameof(FineTuningOptions.NormLayer), normLayer, "freezing the backbone freezes batch norm", (nameof(FineTuningOptions.NormLayer), "frozen-bn"));
        var norm = NormKinds.Named(normLayer).Create;
        ResNet Build(Weights? pretrained = null, long? classes = null) => torchvision.models.get_model_builder(architecture)(weights: pretrained, progress: progress,
            num_classes: classes, zero_init_residual: zeroInitResidual, replace_stride_with_dilation: replaceStrideWithDilation, norm_layer: norm);
        if (weights is null)
            return Build(classes: numClasses);

        var model = File.Exists(weights) && ModelCard.Beside(weights) is { } card
                ? (card with { NormLayer = normLayer, ReplaceStrideWithDilation = replaceStrideWithDilation ?? [false, false, false] }).Load(weights, ModelCard.PathFor(weights))
            : File.Exists(weights) ? Build(classes: Checkpoints.Classes(weights)).WithWeights(weights)
            : PretrainedBackbone.Named(weights) is { } backbone
                ? backbone.Load(numClasses, norm, zeroInitResidual, replaceStrideWithDilation, progress ? Console.Error.WriteLine : null)
            : Build(Weights.Named(architecture, weights));
        if (model.fc.out_features != numClasses)
            ReplaceHead(model, numClasses);
        if (freezeBackbone)
            FreezeBackbone(model);
        return model;
    }

    /// <summary>
    /// The evaluation preprocessing of the weights training starts from, as torchvision's reference uses: their
    /// preset when they are torchvision's, a backbone's or have a card; else resize 256, crop 224.
    /// </summary>
    public static ImageClassification EvaluationPreset(string architecture, string? weights)
        => weights is null ? new ImageClassification(crop_size: 224, resize_size: 256)
            : File.Exists(weights) ? ModelCard.Beside(weights)?.Transforms.ToPreset() ?? new ImageClassification(crop_size: 224, resize_size: 256)
            : PretrainedBackbone.Named(weights) is { } backbone ? backbone.Transforms()
            : Weights.Named(architecture, weights)!.transforms;

    /// <summary>Where the weights of a fine-tuned model came from, for its card.</summary>
    public static string Origin(string architecture, string? weights)
        => weights is null ? $"{architecture} trained from scratch"
            : PretrainedBackbone.Named(weights) is { } backbone ? $"{backbone.ArchitectureName} fine-tuned from {backbone}"
            : $"{architecture} fine-tuned from {(File.Exists(weights) ? Path.GetFileName(weights) : Weights.Named(architecture, weights)!.ToString())}";

    /// <summary>
    /// Replaces <c>fc</c> with a freshly initialised <c>nn.Linear(fc.in_features, num_classes)</c> on the model's
    /// device and dtype: PyTorch's <c>model.fc = nn.Linear(model.fc.in_features, num_classes)</c>.
    /// </summary>
    public static void ReplaceHead(ResNet model, long numClasses)
    {
        var weight = model.fc.weight!;
        model.fc = nn.Linear(model.fc.in_features, numClasses, device: weight.device, dtype: weight.dtype);
    }

    /// <summary>
    /// Stops training everything but <c>fc</c>: <c>requires_grad</c> off for every other parameter. The model must
    /// have been built with <c>norm_layer: c =&gt; new FrozenBatchNorm2d(c)</c> (torchvision's way to freeze batch
    /// norm), since BatchNorm2d would keep updating its running statistics in training mode.
    /// </summary>
    /// <exception cref="ArgumentException">The model has BatchNorm layers.</exception>
    public static void FreezeBackbone(ResNet model)
    {
        var batchNorms = model.named_modules().Where(m => m.module is BatchNorm).Select(m => m.name).ToList();
        if (batchNorms.Count > 0)
            throw new ArgumentException(
                $"FreezeBackbone needs a model built with norm_layer: c => new FrozenBatchNorm2d(c); this one has BatchNorm layers ({batchNorms[0]}, ...) whose statistics would keep changing in training.");
        foreach (var (name, parameter) in model.named_parameters())
            parameter.requires_grad = IsHead(name);
    }

    /// <summary>The trainable parameters of everything but <c>fc</c>, then of <c>fc</c>: the two groups that get their own learning rates.</summary>
    public static (IReadOnlyList<Parameter> backbone, IReadOnlyList<Parameter> head) ParameterGroups(ResNet model)
    {
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        return (trainable.Where(p => !IsHead(p.name)).Select(p => p.parameter).ToList(), trainable.Where(p => IsHead(p.name)).Select(p => p.parameter).ToList());
    }

    static bool IsHead(string parameter) => parameter.StartsWith("fc.", StringComparison.Ordinal);
}
