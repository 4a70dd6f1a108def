using System.Text.Json;
using TorchVisionModels.Serialization;
using TorchVisionModels.Transforms;

namespace TorchVisionModels;

/// <summary>
/// What it takes to rebuild and use a model, kept as JSON beside its weights (<c>best.pt</c> and <c>best.card.json</c>):
/// the builder and every option that shapes the network, the category names, the evaluation preprocessing and where
/// the weights came from. <c>finetune</c> writes one for <c>best.pt</c> and <c>last.pt</c>,
/// <c>scripts/export_weights.py</c> for torchvision's weights, and the ONNX export embeds it; everything that loads
/// a model reads it, so the options travel with the weights. Field names are torchvision's keyword arguments.
/// </summary>
/// <param name="Architecture">
/// The builder, e.g. resnet50; or <see cref="CustomArchitecture"/> for a network no builder makes, which
/// <see cref="Block"/> and <see cref="Layers"/> then describe, as torchvision's <c>ResNet(block, layers)</c> takes them.
/// </param>
/// <param name="NumClasses">Outputs of fc.</param>
/// <param name="NormLayer">The norm layer's kind (<see cref="NormKinds"/>): bn, frozen-bn, gn or one added.</param>
/// <param name="ReplaceStrideWithDilation">Three flags, for layer2..layer4.</param>
/// <param name="Groups">Groups of the 3x3 convolutions.</param>
/// <param name="WidthPerGroup">Channels per group at the first stage.</param>
/// <param name="Categories">The class names, by output index.</param>
/// <param name="Transforms">The evaluation preprocessing.</param>
/// <param name="Weights">Where the weights came from, for people.</param>
public sealed record ModelCard(
    string Architecture,
    long NumClasses,
    string NormLayer,
    IReadOnlyList<bool> ReplaceStrideWithDilation,
    long Groups,
    long WidthPerGroup,
    IReadOnlyList<string> Categories,
    ModelCard.Preprocessing Transforms,
    string Weights)
{
    /// <summary>What the <c>format</c> field holds, so a card is told from other JSON.</summary>
    public const string FormatName = "torchvision-resnet-model-card/1";

    /// <summary>The card's format and version: <see cref="FormatName"/>.</summary>
    public string Format { get; init; } = FormatName;

    /// <summary>The <see cref="Architecture"/> of a network no builder makes: torchvision's class, <c>ResNet(block, layers)</c>.</summary>
    public const string CustomArchitecture = nameof(ResNet);

    /// <summary>The block of a <see cref="CustomArchitecture"/> (BasicBlock or Bottleneck); null (and absent) for a builder's.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Block { get; init; }

    /// <summary>The blocks per stage of a <see cref="CustomArchitecture"/>; null (and absent) for a builder's.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<long>? Layers { get; init; }

    /// <summary>The evaluation preprocessing: resize the shorter side (bilinear or bicubic, as PIL), center-crop, normalise.</summary>
    /// <param name="ResizeSize">The shorter side after resizing.</param>
    /// <param name="CropSize">The side of the center crop.</param>
    /// <param name="Mean">Per-channel mean.</param>
    /// <param name="Std">Per-channel standard deviation.</param>
    /// <param name="Interpolation">PIL's resize filter: bilinear or bicubic.</param>
    public sealed record Preprocessing(int ResizeSize, int CropSize, IReadOnlyList<float> Mean, IReadOnlyList<float> Std, string Interpolation = "bilinear")
    {
        /// <summary>The channel order (<see cref="ChannelOrders"/>); null (and absent) for RGB, torchvision's.</summary>
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public string? ChannelOrder { get; init; }

        /// <summary>
        /// A mean per pixel (<see cref="ImageClassification.MeanImage"/>) as little-endian float32s, base64 in the JSON;
        /// null (and absent) for none.
        /// </summary>
        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public byte[]? MeanImage { get; init; }

        /// <summary>The preset.</summary>
        public ImageClassification ToPreset() => new(CropSize, ResizeSize, [.. Mean], [.. Std], InterpolationNamed(Interpolation))
        {
            ChannelOrder = ChannelOrder ?? ChannelOrders.Rgb,
            MeanImage = MeanImage is null ? null : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(MeanImage).ToArray(),
        };

        /// <summary>A preset's preprocessing.</summary>
        public static Preprocessing Of(ImageClassification preset) => new(preset.resize_size, preset.crop_size, preset.mean, preset.std,
            Interpolations.Single(i => i.Mode == preset.interpolation).Name)
        {
            ChannelOrder = preset.ChannelOrder == ChannelOrders.Rgb ? null : preset.ChannelOrder,
            MeanImage = preset.MeanImage is null ? null : System.Runtime.InteropServices.MemoryMarshal.AsBytes(preset.MeanImage.AsSpan()).ToArray(),
        };
    }

    /// <summary>
    /// The settings a model was trained with, by <c>finetune</c>'s option names (train.py's, where it has one), so a
    /// resumed run goes on with them; null (and absent from the JSON) for weights trained elsewhere.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Training { get; init; }

    /// <summary>How an int8 model was quantized; null (and absent from the JSON) for a float model.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public Int8Calibration? Quantization { get; init; }

    /// <summary>
    /// The calibration of an int8 model: int8 weights per output channel, uint8 activations over ranges read from
    /// <paramref name="Images"/> images by <paramref name="Method"/>.
    /// </summary>
    /// <param name="Method">minmax or percentile:P.</param>
    /// <param name="Images">How many images it was calibrated on.</param>
    /// <param name="Sha256">A SHA-256 of the images (their paths below the folder and their bytes) and the method.</param>
    public sealed record Int8Calibration(string Method, int Images, string Sha256);

    /// <summary>The interpolations a card names: the preset's (<see cref="PilResample.Interpolations"/>), as torchvision's InterpolationMode values spell them.</summary>
    public static readonly IReadOnlyList<(string Name, TorchSharp.torch.InterpolationMode Mode)> Interpolations =
        [.. PilResample.Interpolations.Select(mode => (mode.ToString().ToLowerInvariant(), mode))];

    static TorchSharp.torch.InterpolationMode InterpolationNamed(string name) => Interpolations.Single(i => i.Name == name).Mode;

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
    };

    /// <summary>
    /// The card of a weights file: its name with <c>.card.json</c> for its extension, as <c>.categories.json</c>
    /// before it (a bare <c>NAME.json</c> would claim whatever JSON a user keeps beside the weights).
    /// </summary>
    public static string PathFor(string weightsFile) => Path.ChangeExtension(weightsFile, ".card.json");

    /// <summary>The card of <paramref name="model"/>, built by <paramref name="architecture"/>'s builder, read off its modules.</summary>
    /// <exception cref="NotSupportedException">Its norm layer is of no known kind (<see cref="NormKinds.Of"/>).</exception>
    public static ModelCard For(ResNet model, string architecture, IReadOnlyList<string> categories, ImageClassification preset, string weights)
        => new(architecture, model.fc.out_features, NormKinds.Of(model.bn1, "bn1").Name, model.ReplaceStrideWithDilation, model.groups, model.base_width,
            categories, Preprocessing.Of(preset), weights)
        {
            Block = architecture == CustomArchitecture ? BlockType.Of(model).Name : null,
            Layers = architecture == CustomArchitecture ? [.. new[] { model.layer1, model.layer2, model.layer3, model.layer4 }.Select(stage => (long)stage.children().Count())] : null,
        };

    /// <summary>A new network as the card describes it, with random weights.</summary>
    public ResNet Build() => Architecture == CustomArchitecture
        ? new ResNet(BlockType.Named(Block!)!, Layers!, num_classes: NumClasses, groups: Groups, width_per_group: WidthPerGroup,
            replace_stride_with_dilation: ReplaceStrideWithDilation, norm_layer: NormKinds.Named(NormLayer).Create)
        : torchvision.models.get_model_builder(Architecture)(num_classes: NumClasses, groups: Groups, width_per_group: WidthPerGroup,
            replace_stride_with_dilation: ReplaceStrideWithDilation, norm_layer: NormKinds.Named(NormLayer).Create);

    /// <summary>The architecture as people read it: the builder's name, or <c>ResNet(BasicBlock, [2, 2, 2, 3])</c>.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string ArchitectureName => Architecture == CustomArchitecture ? $"{CustomArchitecture}({Block}, [{string.Join(", ", Layers ?? [])}])" : Architecture;

    /// <summary>
    /// The network with <paramref name="weightsFile"/>'s weights, loaded strictly.
    /// </summary>
    /// <exception cref="ArgumentException">The weights do not fit the card (shapes, keys); the message names both files.</exception>
    public ResNet Load(string weightsFile, string cardName)
    {
        try
        {
            return Build().WithWeights(weightsFile);
        }
        catch (CheckpointException e) when (e.Result is not null)
        {
            throw new ArgumentException($"{cardName} describes {Describe()}, but {weightsFile} does not fit it: {e.Message}");
        }
    }

    /// <summary>The architecture and its options, for messages.</summary>
    public string Describe() => $"{ArchitectureName} (num_classes {NumClasses}, norm_layer {NormLayer}, replace_stride_with_dilation [{string.Join(", ", ReplaceStrideWithDilation).ToLowerInvariant()}])";

    /// <summary>The card as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Writes the card beside <paramref name="weightsFile"/> (<see cref="PathFor"/>), atomically.</summary>
    public void WriteBeside(string weightsFile) => StateDictFiles.WriteAtomically(PathFor(weightsFile), stream => JsonSerializer.Serialize(stream, this, Json));

    /// <summary>The card beside <paramref name="weightsFile"/>, or null when there is none.</summary>
    /// <exception cref="ArgumentException">There is one, but it is not a valid card; the message says what is wrong.</exception>
    public static ModelCard? Beside(string weightsFile) => File.Exists(PathFor(weightsFile)) ? Read(PathFor(weightsFile)) : null;

    /// <summary>The card in <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">It is not a valid card; the message names the file and what is wrong.</exception>
    public static ModelCard Read(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>The card in <paramref name="json"/>, from <paramref name="source"/> (named in errors).</summary>
    /// <exception cref="ArgumentException">It is not a valid card; the message says what is wrong.</exception>
    public static ModelCard Parse(string json, string source)
    {
        ModelCard card;
        try
        {
            card = JsonSerializer.Deserialize<ModelCard>(json, Json) ?? throw new JsonException("it is null");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source} is not a model card: {e.Message}");
        }
        var problem = card.Problem();
        return problem is null ? card : throw new ArgumentException($"{source} is not a valid model card: {problem}.");
    }

    string? Problem()
    {
        if (Format != FormatName)
            return $"its format is '{Format}', not '{FormatName}'";
        if (Architecture == CustomArchitecture)
        {
            if (Block is null || BlockType.Named(Block) is null)
                return $"architecture {CustomArchitecture} needs a block, one of {string.Join(", ", BlockType.All.Select(b => b.Name))}, not '{Block}'";
            if (Layers is not { Count: 4 } || Layers.Any(count => count < 1))
                return $"architecture {CustomArchitecture} needs layers, four counts of at least 1, not [{string.Join(", ", Layers ?? [])}]";
        }
        else if (!torchvision.models.list_models().Contains(Architecture))
            return $"architecture '{Architecture}' is neither {CustomArchitecture} nor one of {string.Join(", ", torchvision.models.list_models())}";
        else if (Block is not null || Layers is not null)
            return $"architecture {Architecture} is a builder's, which fixes its block and layers; give them only with {CustomArchitecture}";
        if (!NormKinds.Names.Contains(NormLayer))
            return $"norm_layer '{NormLayer}' is not one of {string.Join(", ", NormKinds.Names)}";
        if (NumClasses < 1 || Categories.Count != NumClasses)
            return $"num_classes is {NumClasses} but it lists {Categories.Count} categories";
        if (ReplaceStrideWithDilation.Count != 3)
            return $"replace_stride_with_dilation has {ReplaceStrideWithDilation.Count} flags, not 3";
        if (Groups < 1 || WidthPerGroup < 1)
            return $"groups {Groups} and width_per_group {WidthPerGroup} must be at least 1";
        if (Transforms.ResizeSize < 1 || Transforms.CropSize < 1 || Transforms.Mean.Count != 3 || Transforms.Std.Count != 3)
            return "transforms needs resize_size and crop_size of at least 1 and three values each of mean and std";
        if (Transforms.ChannelOrder is { } order && !ChannelOrders.Names.Contains(order))
            return $"channel_order '{order}' is not one of {string.Join(", ", ChannelOrders.Names)}";
        if (Transforms.MeanImage is { } image && image.Length != 3L * Transforms.CropSize * Transforms.CropSize * sizeof(float))
            return $"mean_image holds {image.Length} bytes; a mean image for crop_size {Transforms.CropSize} is 3x{Transforms.CropSize}x{Transforms.CropSize} float32s";
        if (Interpolations.All(i => i.Name != Transforms.Interpolation))
            return $"interpolation '{Transforms.Interpolation}' is not one of {string.Join(", ", Interpolations.Select(i => i.Name))}";
        return null;
    }
}
