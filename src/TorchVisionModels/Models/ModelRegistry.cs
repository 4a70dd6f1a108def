namespace TorchVisionModels;

public static partial class torchvision
{
    public static partial class models
    {
        /// <summary>A builder's signature: the weights, then torchvision's <c>**kwargs</c>, which every builder takes alike.</summary>
        public delegate ResNet Builder(Weights? weights = null, bool progress = true, long? num_classes = null, bool zero_init_residual = false,
            long? groups = null, long? width_per_group = null, IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null);

        /// <summary>An architecture's weights: torchvision's WeightsEnum class, as data.</summary>
        /// <param name="name">The weights class's name, such as ResNet50_Weights.</param>
        /// <param name="values">Every member, in torchvision's order.</param>
        /// <param name="DEFAULT">The best of them.</param>
        public sealed record WeightsEnum(string name, IReadOnlyList<Weights> values, Weights DEFAULT)
        {
            /// <summary>The member called <paramref name="member"/>: "DEFAULT", "IMAGENET1K_V1", ...</summary>
            /// <exception cref="ArgumentException">There is no such member; the message lists them.</exception>
            public Weights this[string member] => member == nameof(DEFAULT) ? DEFAULT
                : values.FirstOrDefault(w => w.name == member)
                  ?? throw new ArgumentException($"{name} has no weights {member}; it has DEFAULT, {string.Join(", ", values.Select(w => w.name))}.", nameof(member));
        }

        static readonly IReadOnlyDictionary<string, (Builder builder, WeightsEnum weights)> registry = new Dictionary<string, (Builder, WeightsEnum)>
        {
            [nameof(resnet18)] = (resnet18, Enum(ResNet18_Weights.values, ResNet18_Weights.DEFAULT)),
            [nameof(resnet34)] = (resnet34, Enum(ResNet34_Weights.values, ResNet34_Weights.DEFAULT)),
            [nameof(resnet50)] = (resnet50, Enum(ResNet50_Weights.values, ResNet50_Weights.DEFAULT)),
            [nameof(resnet101)] = (resnet101, Enum(ResNet101_Weights.values, ResNet101_Weights.DEFAULT)),
            [nameof(resnet152)] = (resnet152, Enum(ResNet152_Weights.values, ResNet152_Weights.DEFAULT)),
            [nameof(resnext50_32x4d)] = (resnext50_32x4d, Enum(ResNeXt50_32X4D_Weights.values, ResNeXt50_32X4D_Weights.DEFAULT)),
            [nameof(resnext101_32x8d)] = (resnext101_32x8d, Enum(ResNeXt101_32X8D_Weights.values, ResNeXt101_32X8D_Weights.DEFAULT)),
            [nameof(resnext101_64x4d)] = (resnext101_64x4d, Enum(ResNeXt101_64X4D_Weights.values, ResNeXt101_64X4D_Weights.DEFAULT)),
            [nameof(wide_resnet50_2)] = (wide_resnet50_2, Enum(Wide_ResNet50_2_Weights.values, Wide_ResNet50_2_Weights.DEFAULT)),
            [nameof(wide_resnet101_2)] = (wide_resnet101_2, Enum(Wide_ResNet101_2_Weights.values, Wide_ResNet101_2_Weights.DEFAULT)),
        };

        static WeightsEnum Enum<T>(IReadOnlyList<T> values, T DEFAULT) where T : Weights => new(typeof(T).Name, values, DEFAULT);

        /// <summary>The names of the available builders, sorted, like <c>torchvision.models.list_models()</c>.</summary>
        public static IReadOnlyList<string> list_models() => registry.Keys.Order(StringComparer.Ordinal).ToList();

        /// <summary>The builder called <paramref name="name"/>, like <c>torchvision.models.get_model_builder(name)</c>.</summary>
        /// <exception cref="ArgumentException">No builder has that name.</exception>
        public static Builder get_model_builder(string name) => Lookup(name).builder;

        /// <summary>The weights of the architecture called <paramref name="name"/>, like <c>torchvision.models.get_model_weights(name)</c>.</summary>
        /// <exception cref="ArgumentException">No builder has that name.</exception>
        public static WeightsEnum get_model_weights(string name) => Lookup(name).weights;

        static (Builder builder, WeightsEnum weights) Lookup(string name)
            => registry.TryGetValue(name, out var entry) ? entry : throw new ArgumentException($"Unknown model {name}", nameof(name));
    }
}
