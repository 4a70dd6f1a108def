using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels.Training;

/// <summary>
/// The usual steps of fine-tuning a pretrained ResNet: a new head for the task's classes, a frozen backbone, and
/// parameter groups with their own learning rates.
/// </summary>
public static class FineTuning
{
    /// <summary>
    /// Replaces <c>fc</c> with a freshly initialised <c>nn.Linear(fc.in_features, num_classes)</c> on the model's
    /// device and dtype: PyTorch's <c>model.fc = nn.Linear(model.fc.in_features, num_classes)</c>.
    /// </summary>
    public static void ReplaceHead(ResNet model, long num_classes)
    {
        var weight = model.fc.weight!;
        model.fc = nn.Linear(model.fc.in_features, num_classes, device: weight.device, dtype: weight.dtype);
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
