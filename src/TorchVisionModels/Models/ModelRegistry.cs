namespace TorchVisionModels;

public static partial class torchvision
{
    public static partial class models
    {
        /// <summary>A builder's signature: the weights, then torchvision's <c>**kwargs</c>, which every builder takes alike.</summary>
        public delegate ResNet Builder(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false,
            long? groups = null, long? width_per_group = null, IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null,
            bool pretrained = false);

        /// <summary>One architecture: the block it stacks, the blocks per stage, the options its builder fixes, its weights.</summary>
        /// <param name="block">BasicBlock or Bottleneck.</param>
        /// <param name="layers">Blocks in layer1..layer4.</param>
        /// <param name="groups">The groups the builder fixes (ResNeXt's cardinality); null leaves the option free.</param>
        /// <param name="width_per_group">The width per group the builder fixes; null leaves the option free.</param>
        /// <param name="weights">Its pretrained weights.</param>
        sealed record Architecture(BlockType block, long[] layers, long? groups, long? width_per_group, WeightsEnum weights);

        // The one table of the family: the builders, get_model_builder, get_model_weights and list_models read it.
        static readonly IReadOnlyDictionary<string, Architecture> architectures = new Dictionary<string, Architecture>
        {
            [nameof(resnet18)] = new(BasicBlock.type, [2, 2, 2, 2], null, null, WeightsEnum.Of<ResNet18_Weights>()),
            [nameof(resnet34)] = new(BasicBlock.type, [3, 4, 6, 3], null, null, WeightsEnum.Of<ResNet34_Weights>()),
            [nameof(resnet50)] = new(Bottleneck.type, [3, 4, 6, 3], null, null, WeightsEnum.Of<ResNet50_Weights>()),
            [nameof(resnet101)] = new(Bottleneck.type, [3, 4, 23, 3], null, null, WeightsEnum.Of<ResNet101_Weights>()),
            [nameof(resnet152)] = new(Bottleneck.type, [3, 8, 36, 3], null, null, WeightsEnum.Of<ResNet152_Weights>()),
            [nameof(resnext50_32x4d)] = new(Bottleneck.type, [3, 4, 6, 3], 32, 4, WeightsEnum.Of<ResNeXt50_32X4D_Weights>()),
            [nameof(resnext101_32x8d)] = new(Bottleneck.type, [3, 4, 23, 3], 32, 8, WeightsEnum.Of<ResNeXt101_32X8D_Weights>()),
            [nameof(resnext101_64x4d)] = new(Bottleneck.type, [3, 4, 23, 3], 64, 4, WeightsEnum.Of<ResNeXt101_64X4D_Weights>()),
            // Wide ResNet: twice the channels in every block's bottleneck; the outer 1x1 convolutions keep their width.
            [nameof(wide_resnet50_2)] = new(Bottleneck.type, [3, 4, 6, 3], null, 64 * 2, WeightsEnum.Of<Wide_ResNet50_2_Weights>()),
            [nameof(wide_resnet101_2)] = new(Bottleneck.type, [3, 4, 23, 3], null, 64 * 2, WeightsEnum.Of<Wide_ResNet101_2_Weights>()),
        };

        /// <summary>The names of the available builders, sorted, like <c>torchvision.models.list_models()</c>.</summary>
        public static IReadOnlyList<string> list_models() => architectures.Keys.Order(StringComparer.Ordinal).ToList();

        /// <summary>The builder called <paramref name="name"/>, like <c>torchvision.models.get_model_builder(name)</c>.</summary>
        /// <exception cref="ArgumentException">No builder has that name.</exception>
        public static Builder get_model_builder(string name)
        {
            Lookup(name);
            return (weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained)
                => _resnet(name, weights, progress, num_classes, zero_init_residual, groups, width_per_group, replace_stride_with_dilation, norm_layer, pretrained);
        }

        /// <summary>The weights of the architecture called <paramref name="name"/>, like <c>torchvision.models.get_model_weights(name)</c>.</summary>
        /// <exception cref="ArgumentException">No builder has that name.</exception>
        public static WeightsEnum get_model_weights(string name) => Lookup(name).weights;

        static Architecture Lookup(string name)
            => architectures.TryGetValue(name, out var architecture) ? architecture : throw new ArgumentException($"Unknown model {name}", nameof(name));
    }
}
