namespace TorchVisionModels.Tests;

/// <summary>The C# side of the cases scripts/export_weights.py writes: the same builder and options.</summary>
static class ModelCases
{
    public static readonly string[] Architectures =
    [
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
        "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
    ];

    public static ResNet Build(string architecture, long? num_classes = null, bool zero_init_residual = false,
        IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null)
        => torchvision.models.get_model_builder(architecture)(num_classes: num_classes, zero_init_residual: zero_init_residual,
            replace_stride_with_dilation: replace_stride_with_dilation, norm_layer: norm_layer);

    static readonly NormLayer GroupNorm32 = c => TorchSharp.torch.nn.GroupNorm(32, c);
    static readonly NormLayer Frozen = c => new FrozenBatchNorm2d(c);

    /// <summary>Named cases of scripts/export_weights.py's INIT_CASES and FORWARD_CASES.</summary>
    public static ResNet Case(string name) => name switch
    {
        "resnet18" or "resnet18_nonsquare" => Build("resnet18"),
        "resnet34" or "resnet50" or "resnet101" or "resnet152" or "resnext50_32x4d" or "resnext101_32x8d"
            or "resnext101_64x4d" or "wide_resnet50_2" or "wide_resnet101_2" => Build(name),
        "resnet18_zero_init_residual" => Build("resnet18", zero_init_residual: true),
        "resnet50_zero_init_residual" => Build("resnet50", zero_init_residual: true),
        "resnet50_dilation_ftt" => Build("resnet50", replace_stride_with_dilation: [false, true, true]),
        "resnet18_groupnorm" => Build("resnet18", norm_layer: GroupNorm32),
        "resnet18_frozenbn" => Build("resnet18", norm_layer: Frozen),
        "resnet18_num_classes_10" => Build("resnet18", num_classes: 10),
        "resnet50_num_classes_10" => Build("resnet50", num_classes: 10),
        _ => throw new ArgumentException($"unknown case {name}"),
    };
}
