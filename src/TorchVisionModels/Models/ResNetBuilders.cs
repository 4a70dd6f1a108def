using TorchVisionModels.Serialization;

namespace TorchVisionModels;

/// <summary>The torchvision namespace, for code that reads like Python: <c>torchvision.models.resnet50()</c>.</summary>
public static partial class torchvision
{
    /// <summary>
    /// torchvision.models: the ResNet family's builders. Each takes torchvision's arguments, and also 0.14's legacy
    /// <c>pretrained: true</c>, which means IMAGENET1K_V1 (deprecated there since 0.13: <c>weights:</c> chooses).
    /// </summary>
    public static partial class models
    {
        /// <summary>ResNet-18 from "Deep Residual Learning for Image Recognition" (https://arxiv.org/abs/1512.03385).</summary>
        public static ResNet resnet18(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(resnet18), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>ResNet-34 from "Deep Residual Learning for Image Recognition" (https://arxiv.org/abs/1512.03385).</summary>
        public static ResNet resnet34(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(resnet34), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>ResNet-50 from "Deep Residual Learning for Image Recognition" (https://arxiv.org/abs/1512.03385), V1.5: downsampling in the 3x3 convolution.</summary>
        public static ResNet resnet50(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(resnet50), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>ResNet-101 from "Deep Residual Learning for Image Recognition" (https://arxiv.org/abs/1512.03385), V1.5.</summary>
        public static ResNet resnet101(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(resnet101), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>ResNet-152 from "Deep Residual Learning for Image Recognition" (https://arxiv.org/abs/1512.03385), V1.5.</summary>
        public static ResNet resnet152(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(resnet152), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>ResNeXt-50 32x4d from "Aggregated Residual Transformation for Deep Neural Networks" (https://arxiv.org/abs/1611.05431).</summary>
        public static ResNet resnext50_32x4d(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(resnext50_32x4d), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>ResNeXt-101 32x8d from "Aggregated Residual Transformation for Deep Neural Networks" (https://arxiv.org/abs/1611.05431).</summary>
        public static ResNet resnext101_32x8d(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(resnext101_32x8d), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>ResNeXt-101 64x4d from "Aggregated Residual Transformation for Deep Neural Networks" (https://arxiv.org/abs/1611.05431).</summary>
        public static ResNet resnext101_64x4d(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(resnext101_64x4d), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>
        /// Wide ResNet-50-2 from "Wide Residual Networks" (https://arxiv.org/abs/1605.07146): ResNet-50 with twice the
        /// channels in every block's bottleneck; the outer 1x1 convolutions keep their width.
        /// </summary>
        public static ResNet wide_resnet50_2(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(wide_resnet50_2), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>
        /// Wide ResNet-101-2 from "Wide Residual Networks" (https://arxiv.org/abs/1605.07146): ResNet-101 with twice the
        /// channels in every block's bottleneck; the outer 1x1 convolutions keep their width.
        /// </summary>
        public static ResNet wide_resnet101_2(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false, long? groups = null, long? width_per_group = null,
            IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null, bool pretrained = false)
            => _resnet(nameof(wide_resnet101_2), weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);

        /// <summary>
        /// Builds <paramref name="name"/> as its row of the table says, then loads its weights. <paramref name="pretrained"/>
        /// is torchvision's legacy argument (deprecated since 0.13, still accepted by 0.14): true means IMAGENET1K_V1.
        /// </summary>
        static ResNet _resnet(string name, Weights? weights, bool progress, long? num_classes, bool zero_init_residual,
            long? groups, long? width_per_group, IReadOnlyList<bool>? replace_stride_with_dilation, NormLayer? norm_layer, bool pretrained)
        {
            var architecture = Lookup(name);
            weights = architecture.weights.verify(weights);
            if (pretrained && weights is not null)
                throw new ArgumentException($"{name} was given both weights ({weights}) and pretrained: true; pass only weights.", nameof(pretrained));
            if (pretrained)
                weights = architecture.weights.Values[0];
            if (architecture.groups is { } fixedGroups)
                groups = _ovewrite_named_param(nameof(groups), groups, fixedGroups);
            if (architecture.width_per_group is { } fixedWidth)
                width_per_group = _ovewrite_named_param(nameof(width_per_group), width_per_group, fixedWidth);
            if (weights is not null)
                num_classes = _ovewrite_named_param(nameof(num_classes), num_classes, weights.meta.categories.Count);

            var model = new ResNet(architecture.block, architecture.layers, num_classes ?? 1000, zero_init_residual, groups ?? 1, width_per_group ?? 64,
                replace_stride_with_dilation, norm_layer);

            if (weights is not null)
            {
                var file = weights.GetFile(progress);
                try
                {
                    model.load_state_dict(file);
                }
                catch (CheckpointException e) when (e.Result is null)
                {
                    model.Dispose();
                    throw new CheckpointException($"{file}, {weights} in torch.hub's cache, is not a readable checkpoint: delete it, and the next run downloads it again.", e);
                }
            }

            return model;
        }

        /// <summary>torchvision's check that a builder's fixed option was not given a different value.</summary>
        static long _ovewrite_named_param(string param, long? actual, long new_value)
        {
            if (actual is { } value && value != new_value)
                throw new ArgumentException($"The parameter '{param}' expected value {new_value} but got {value} instead.", param);
            return new_value;
        }
    }
}
