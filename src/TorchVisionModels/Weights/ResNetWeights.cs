namespace TorchVisionModels;

// torchvision's pretrained ResNet weights: URLs, sizes, recipes and ImageNet-1K accuracies as torchvision publishes
// them. IMAGENET1K_V1 reproduces the papers' recipes (evaluated at resize 256); IMAGENET1K_V2 comes from torchvision's
// improved recipe (https://github.com/pytorch/vision/issues/3995, evaluated at resize 232). DEFAULT is the best.

#pragma warning disable CS1591 // The members are torchvision's; their metadata is their documentation.
// Each class lists its members and DEFAULT; Weights<TSelf> derives values and verify from them.

/// <summary>Pretrained weights for <see cref="torchvision.models.resnet18"/>.</summary>
public sealed class ResNet18_Weights : Weights<ResNet18_Weights>
{
    ResNet18_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 11_689_512, recipe, acc_1, acc_5) { }

    public static readonly ResNet18_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/resnet18-f37072fd.pth", 256,
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet", 69.758, 89.078);

    public static ResNet18_Weights DEFAULT => IMAGENET1K_V1;
}

/// <summary>Pretrained weights for <see cref="torchvision.models.resnet34"/>.</summary>
public sealed class ResNet34_Weights : Weights<ResNet34_Weights>
{
    ResNet34_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 21_797_672, recipe, acc_1, acc_5) { }

    public static readonly ResNet34_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/resnet34-b627a593.pth", 256,
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet", 73.314, 91.42);

    public static ResNet34_Weights DEFAULT => IMAGENET1K_V1;
}

/// <summary>Pretrained weights for <see cref="torchvision.models.resnet50"/>.</summary>
public sealed class ResNet50_Weights : Weights<ResNet50_Weights>
{
    ResNet50_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 25_557_032, recipe, acc_1, acc_5) { }

    public static readonly ResNet50_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/resnet50-0676ba61.pth", 256,
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet", 76.13, 92.862);

    public static readonly ResNet50_Weights IMAGENET1K_V2 = new(nameof(IMAGENET1K_V2), "https://download.pytorch.org/models/resnet50-11ad3fa6.pth", 232,
        "https://github.com/pytorch/vision/issues/3995#issuecomment-1013906621", 80.858, 95.434);

    public static ResNet50_Weights DEFAULT => IMAGENET1K_V2;
}

/// <summary>Pretrained weights for <see cref="torchvision.models.resnet101"/>.</summary>
public sealed class ResNet101_Weights : Weights<ResNet101_Weights>
{
    ResNet101_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 44_549_160, recipe, acc_1, acc_5) { }

    public static readonly ResNet101_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/resnet101-63fe2227.pth", 256,
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet", 77.374, 93.546);

    public static readonly ResNet101_Weights IMAGENET1K_V2 = new(nameof(IMAGENET1K_V2), "https://download.pytorch.org/models/resnet101-cd907fc2.pth", 232,
        "https://github.com/pytorch/vision/issues/3995#new-recipe", 81.886, 95.78);

    public static ResNet101_Weights DEFAULT => IMAGENET1K_V2;
}

/// <summary>Pretrained weights for <see cref="torchvision.models.resnet152"/>.</summary>
public sealed class ResNet152_Weights : Weights<ResNet152_Weights>
{
    ResNet152_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 60_192_808, recipe, acc_1, acc_5) { }

    public static readonly ResNet152_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/resnet152-394f9c45.pth", 256,
        "https://github.com/pytorch/vision/tree/main/references/classification#resnet", 78.312, 94.046);

    public static readonly ResNet152_Weights IMAGENET1K_V2 = new(nameof(IMAGENET1K_V2), "https://download.pytorch.org/models/resnet152-f82ba261.pth", 232,
        "https://github.com/pytorch/vision/issues/3995#new-recipe", 82.284, 96.002);

    public static ResNet152_Weights DEFAULT => IMAGENET1K_V2;
}

/// <summary>Pretrained weights for <see cref="torchvision.models.resnext50_32x4d"/>.</summary>
public sealed class ResNeXt50_32X4D_Weights : Weights<ResNeXt50_32X4D_Weights>
{
    ResNeXt50_32X4D_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 25_028_904, recipe, acc_1, acc_5) { }

    public static readonly ResNeXt50_32X4D_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth", 256,
        "https://github.com/pytorch/vision/tree/main/references/classification#resnext", 77.618, 93.698);

    public static readonly ResNeXt50_32X4D_Weights IMAGENET1K_V2 = new(nameof(IMAGENET1K_V2), "https://download.pytorch.org/models/resnext50_32x4d-1a0047aa.pth", 232,
        "https://github.com/pytorch/vision/issues/3995#new-recipe", 81.198, 95.34);

    public static ResNeXt50_32X4D_Weights DEFAULT => IMAGENET1K_V2;
}

/// <summary>Pretrained weights for <see cref="torchvision.models.resnext101_32x8d"/>.</summary>
public sealed class ResNeXt101_32X8D_Weights : Weights<ResNeXt101_32X8D_Weights>
{
    ResNeXt101_32X8D_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 88_791_336, recipe, acc_1, acc_5) { }

    public static readonly ResNeXt101_32X8D_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/resnext101_32x8d-8ba56ff5.pth", 256,
        "https://github.com/pytorch/vision/tree/main/references/classification#resnext", 79.312, 94.526);

    public static readonly ResNeXt101_32X8D_Weights IMAGENET1K_V2 = new(nameof(IMAGENET1K_V2), "https://download.pytorch.org/models/resnext101_32x8d-110c445d.pth", 232,
        "https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres", 82.834, 96.228);

    public static ResNeXt101_32X8D_Weights DEFAULT => IMAGENET1K_V2;
}

/// <summary>Pretrained weights for <see cref="torchvision.models.resnext101_64x4d"/>.</summary>
public sealed class ResNeXt101_64X4D_Weights : Weights<ResNeXt101_64X4D_Weights>
{
    ResNeXt101_64X4D_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 83_455_272, recipe, acc_1, acc_5) { }

    public static readonly ResNeXt101_64X4D_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/resnext101_64x4d-173b62eb.pth", 232,
        "https://github.com/pytorch/vision/pull/5935", 83.246, 96.454);

    public static ResNeXt101_64X4D_Weights DEFAULT => IMAGENET1K_V1;
}

/// <summary>Pretrained weights for <see cref="torchvision.models.wide_resnet50_2"/>.</summary>
public sealed class Wide_ResNet50_2_Weights : Weights<Wide_ResNet50_2_Weights>
{
    Wide_ResNet50_2_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 68_883_240, recipe, acc_1, acc_5) { }

    public static readonly Wide_ResNet50_2_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/wide_resnet50_2-95faca4d.pth", 256,
        "https://github.com/pytorch/vision/pull/912#issue-445437439", 78.468, 94.086);

    public static readonly Wide_ResNet50_2_Weights IMAGENET1K_V2 = new(nameof(IMAGENET1K_V2), "https://download.pytorch.org/models/wide_resnet50_2-9ba9bcbe.pth", 232,
        "https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres", 81.602, 95.758);

    public static Wide_ResNet50_2_Weights DEFAULT => IMAGENET1K_V2;
}

/// <summary>Pretrained weights for <see cref="torchvision.models.wide_resnet101_2"/>.</summary>
public sealed class Wide_ResNet101_2_Weights : Weights<Wide_ResNet101_2_Weights>
{
    Wide_ResNet101_2_Weights(string name, string url, int resize_size, string recipe, double acc_1, double acc_5) : base(name, url, resize_size, 126_886_696, recipe, acc_1, acc_5) { }

    public static readonly Wide_ResNet101_2_Weights IMAGENET1K_V1 = new(nameof(IMAGENET1K_V1), "https://download.pytorch.org/models/wide_resnet101_2-32ee1156.pth", 256,
        "https://github.com/pytorch/vision/pull/912#issue-445437439", 78.848, 94.284);

    public static readonly Wide_ResNet101_2_Weights IMAGENET1K_V2 = new(nameof(IMAGENET1K_V2), "https://download.pytorch.org/models/wide_resnet101_2-d733dc28.pth", 232,
        "https://github.com/pytorch/vision/issues/3995#new-recipe", 82.51, 96.02);

    public static Wide_ResNet101_2_Weights DEFAULT => IMAGENET1K_V2;
}
