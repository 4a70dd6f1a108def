namespace TorchVisionModels;

public static partial class torchvision
{
    public static partial class models
    {
        /// <summary>A builder's options, torchvision's <c>**kwargs</c>: every builder takes the same ones.</summary>
        public delegate ResNet Builder(long? num_classes = null, bool zero_init_residual = false, long? groups = null,
            long? width_per_group = null, IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null);

        static readonly IReadOnlyDictionary<string, Builder> builders = new Dictionary<string, Builder>
        {
            [nameof(resnet18)] = resnet18,
            [nameof(resnet34)] = resnet34,
            [nameof(resnet50)] = resnet50,
            [nameof(resnet101)] = resnet101,
            [nameof(resnet152)] = resnet152,
            [nameof(resnext50_32x4d)] = resnext50_32x4d,
            [nameof(resnext101_32x8d)] = resnext101_32x8d,
            [nameof(resnext101_64x4d)] = resnext101_64x4d,
            [nameof(wide_resnet50_2)] = wide_resnet50_2,
            [nameof(wide_resnet101_2)] = wide_resnet101_2,
        };

        /// <summary>The names of the available builders, sorted, like <c>torchvision.models.list_models()</c>.</summary>
        public static IReadOnlyList<string> list_models() => builders.Keys.Order(StringComparer.Ordinal).ToList();

        /// <summary>The builder called <paramref name="name"/>, like <c>torchvision.models.get_model_builder(name)</c>.</summary>
        /// <exception cref="ArgumentException">No builder has that name.</exception>
        public static Builder get_model_builder(string name)
            => builders.TryGetValue(name, out var builder) ? builder : throw new ArgumentException($"Unknown model {name}", nameof(name));
    }
}
