using System.Text.Json;
using TorchVisionModels.Onnx;
using TorchVisionModels.Transforms;

namespace TorchVisionModels.Classification;

/// <summary>
/// Where a model's weights come from, with what it takes to classify with them: torchvision's weights by name, a
/// checkpoint file or an exported .onnx file; the architecture, its model card, preprocessing preset and category
/// names. The TorchSharp network is built and loaded only when first asked for: a cached ONNX export never needs it.
/// Disposing it disposes that network, unless <see cref="ModelRunner"/> took it. It chooses no backend.
/// </summary>
public sealed class ModelSource : IDisposable
{
    readonly Func<ResNet>? build;
    readonly Lazy<ResNet>? network;
    readonly ModelCard? card;
    bool networkHandedOver;

    ModelSource(string architecture, Func<ResNet>? build, ImageClassification transforms, IReadOnlyList<string> categories, string description, string? weightsFile,
        ModelCard? card = null)
    {
        this.card = card;
        Architecture = architecture;
        this.build = build;
        network = build is null ? null : new Lazy<ResNet>(build);
        Transforms = transforms;
        Categories = categories;
        Description = description;
        WeightsFile = weightsFile;
    }

    /// <summary>The builder's name, e.g. resnet50.</summary>
    public string Architecture { get; }

    /// <summary>The evaluation preprocessing the weights were trained for.</summary>
    public ImageClassification Transforms { get; }

    /// <summary>The class names, by output index.</summary>
    public IReadOnlyList<string> Categories { get; }

    /// <summary>Where the weights come from, for people: e.g. ResNet50_Weights.IMAGENET1K_V2, or the file's name.</summary>
    public string Description { get; }

    /// <summary>The file the weights were read from (a checkpoint, torch.hub's copy of torchvision's, or an .onnx file); null for random weights.</summary>
    public string? WeightsFile { get; }

    /// <summary>The file is an exported ONNX model, which only ONNX Runtime runs.</summary>
    public bool IsOnnx => network is null;

    /// <summary>The TorchSharp network with the weights, built and loaded now if it was not yet.</summary>
    /// <exception cref="InvalidOperationException">The weights are an .onnx file.</exception>
    public ResNet Network => network?.Value ?? throw new InvalidOperationException($"{WeightsFile} is an ONNX model: only ONNX Runtime runs it.");

    /// <summary>
    /// The model's card: the one it was loaded with, or one read off the network (built for the call if it was not yet).
    /// </summary>
    public ModelCard Card => card ?? WithNetwork(model => ModelCard.For(model, Architecture, Categories, Transforms, Description));

    /// <summary>
    /// <paramref name="weights"/> names torchvision weights of <paramref name="architecture"/> (DEFAULT,
    /// IMAGENET1K_V1, ...), which come from torch.hub's cache or are downloaded, or is a file, which works offline:
    /// a checkpoint with its model card beside it (<see cref="ModelCard.PathFor"/>), which says how to build the
    /// network and gives its categories and preprocessing; a checkpoint without one, for the standard
    /// architecture, its categories from <paramref name="categoriesFile"/>, else the <c>NAME.categories.json</c>
    /// beside it, else ImageNet's when it has 1000 classes; or an exported .onnx file, described by the card in its
    /// metadata.
    /// </summary>
    /// <param name="architecture">The builder's name; null for what the card or .onnx file says, else resnet50 (the classic script's).</param>
    /// <param name="weights">DEFAULT, a weights name, or a file.</param>
    /// <param name="categoriesFile">Class names that override the card's or stand in for a missing one.</param>
    /// <param name="progress">Show a download's progress.</param>
    /// <exception cref="ArgumentException">The weights are neither a file nor known weights, a card is invalid or contradicts <paramref name="architecture"/>, or the categories do not match the classes.</exception>
    public static ModelSource Load(string? architecture, string weights, string? categoriesFile = null, bool progress = true)
    {
        if (IsOnnxFile(weights))
            return LoadOnnx(architecture, weights, categoriesFile);
        if (File.Exists(weights) && ModelCard.Beside(weights) is { } card)
            return FromCard(card, architecture, weights, categoriesFile, () => card.Load(weights, ModelCard.PathFor(weights)));

        if (TorchVisionModels.Backbones.PretrainedBackbone.Named(weights) is { } backbone)
            throw new ArgumentException($"{backbone} is a backbone without a classifier: ImageNet features, no categories. " +
                $"Fine-tune it on your classes first (finetune --weights {backbone.Name}), or take its features with create_feature_extractor.");
        architecture ??= "resnet50";
        var builder = torchvision.models.get_model_builder(architecture);
        if (Weights.Named(architecture, weights) is { } chosen)
        {
            var categories = categoriesFile is null ? chosen.meta.categories : ReadCategories(categoriesFile);
            return new(architecture, () => builder(weights: chosen, progress: progress), chosen.transforms, categories, chosen.ToString(), chosen.GetFile(progress));
        }

        var classes = Checkpoints.Classes(weights);
        var sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weights))!, Path.GetFileNameWithoutExtension(weights) + ".categories.json");
        var names = categoriesFile is not null ? ReadCategories(categoriesFile)
            : File.Exists(sibling) ? ReadCategories(sibling)
            : classes == Weights.ImageNetCategories.Count ? Weights.ImageNetCategories
            : Enumerable.Range(0, (int)classes).Select(i => $"class {i}").ToList();
        if (names.Count != classes)
            throw new ArgumentException($"{weights} predicts {classes} classes but its categories list {names.Count}.");
        return new(architecture, () => builder(num_classes: classes).WithWeights(weights), new ImageClassification(crop_size: 224, resize_size: 256),
            names, Path.GetFileName(weights), weights);
    }

    /// <summary>Whether <paramref name="weights"/> is an exported .onnx file, which only ONNX Runtime runs.</summary>
    public static bool IsOnnxFile(string weights) => weights.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) && File.Exists(weights);

    /// <summary><paramref name="architecture"/> as its builder initialises it (random weights), with ImageNet's preset and categories: for benchmarks.</summary>
    public static ModelSource Untrained(string architecture)
        => new(architecture, () => torchvision.models.get_model_builder(architecture)(), new ImageClassification(224), Weights.ImageNetCategories, "random weights", null);

    static ModelSource FromCard(ModelCard card, string? architecture, string file, string? categoriesFile, Func<ResNet>? build)
    {
        if (architecture is not null && architecture != card.Architecture)
            throw new ArgumentException($"{file}'s model card describes {card.ArchitectureName}, not the {architecture} asked for.");
        var categories = categoriesFile is null ? card.Categories : ReadCategories(categoriesFile);
        if (categories.Count != card.NumClasses)
            throw new ArgumentException($"{file} predicts {card.NumClasses} classes but {categoriesFile} lists {categories.Count}.");
        return new(card.Architecture, build, card.Transforms.ToPreset(), categories, card.Weights, file, card);
    }

    static ModelSource LoadOnnx(string? architecture, string path, string? categoriesFile)
    {
        if (OnnxModelMetadata.Read(path).TryGetValue(OnnxMetadataKey, out var json))
            return FromCard(ModelCard.Parse(json, $"{path}'s model card"), architecture, path, categoriesFile, build: null);
        // An ONNX model from elsewhere (torch.onnx.export's, say): the classic script's preset and ImageNet's classes.
        var categories = categoriesFile is not null ? ReadCategories(categoriesFile) : Weights.ImageNetCategories;
        return new(architecture ?? Path.GetFileNameWithoutExtension(path), null, new ImageClassification(224), categories, Path.GetFileName(path), path);
    }

    /// <summary>The metadata_props entry of an exported model that holds its <see cref="ModelCard"/>.</summary>
    public const string OnnxMetadataKey = "model_card";

    /// <summary>Writes the network to <paramref name="path"/> as ONNX, with its <see cref="Card"/> in the metadata (<see cref="OnnxMetadataKey"/>); see <see cref="OnnxExporter.Export"/>.</summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="foldBatchNorm">Fold the norm layers into the convolutions.</param>
    /// <param name="opset">The ONNX opset, 13 to 17.</param>
    /// <param name="size">Fix the image's height and width (ONNX Runtime plans a fixed size better); null leaves them dynamic.</param>
    /// <param name="extraMetadata">More metadata_props entries.</param>
    public void ExportOnnx(string path, bool foldBatchNorm, int opset, int? size, IReadOnlyDictionary<string, string>? extraMetadata = null)
        => WithNetwork(model =>
        {
            OnnxExporter.Export(model, path, foldBatchNorm, opset, Metadata(model, null, extraMetadata), size is { } side ? (side, side) : null);
            return path;
        });

    /// <summary>
    /// Writes the network to <paramref name="path"/> as an int8 ONNX model (<see cref="Int8Exporter"/>), calibrated
    /// on <paramref name="calibration"/>'s images preprocessed by <paramref name="preset"/>, its card recording how
    /// (<see cref="ModelCard.Quantization"/>).
    /// </summary>
    /// <param name="path">The .onnx file.</param>
    /// <param name="calibration">The calibration images and method.</param>
    /// <param name="preset">The preprocessing the model will classify with.</param>
    /// <param name="opset">The ONNX opset, 13 to 17.</param>
    /// <param name="size">Fix the image's height and width; null leaves them dynamic.</param>
    /// <param name="extraMetadata">More metadata_props entries.</param>
    /// <exception cref="OptionException">The calibration folder is missing, holds too few images, or an image cannot be read.</exception>
    /// <exception cref="NotSupportedException">The model does not quantize (a norm layer that does not fold, such as GroupNorm).</exception>
    public void ExportInt8(string path, CalibrationSet calibration, ImageClassification preset, int opset, int? size, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        // The folder is checked before the network is built.
        var files = calibration.Files();
        var quantization = new ModelCard.Int8Calibration(calibration.Method.ToString(), files.Count, calibration.Sha256(files));
        WithNetwork(model =>
        {
            Int8Exporter.EnsureQuantizable(model);
            var ranges = calibration.Calibrate(model, preset, files);
            Int8Exporter.Export(model, ranges, path, opset, Metadata(model, quantization, extraMetadata), size is { } side ? (side, side) : null);
            return path;
        });
    }

    /// <summary>How the model was quantized, when it is an int8 .onnx file of ours; else null.</summary>
    public ModelCard.Int8Calibration? Quantization => card?.Quantization;

    Dictionary<string, string> Metadata(ResNet model, ModelCard.Int8Calibration? quantization, IReadOnlyDictionary<string, string>? extra)
    {
        var modelCard = (card ?? ModelCard.For(model, Architecture, Categories, Transforms, Description)) with { Quantization = quantization };
        var metadata = new Dictionary<string, string> { [OnnxMetadataKey] = modelCard.ToJson() };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            metadata[key] = value;
        return metadata;
    }

    /// <summary>What identifies the model, as JSON, without building it: its card when it has one, else its architecture, weights, categories and preset.</summary>
    public string Identity => card?.ToJson() ?? JsonSerializer.Serialize(new { Architecture, Description, Categories, Transforms = ModelCard.Preprocessing.Of(Transforms) });

    /// <summary>
    /// The network, handed to a caller that will own it: this object no longer disposes it.
    /// </summary>
    internal ResNet TakeNetwork()
    {
        var model = Network;
        networkHandedOver = true;
        return model;
    }

    /// <summary>
    /// <paramref name="use"/> of the network: the one built already, or one built for the call and disposed after it,
    /// so that an export (which the cache keeps) leaves no network in memory.
    /// </summary>
    internal T WithNetwork<T>(Func<ResNet, T> use)
    {
        if (network is null || network.IsValueCreated)
            return use(Network);
        using var model = build!();
        return use(model);
    }

    /// <summary>A JSON array of names, or one name per line.</summary>
    public static IReadOnlyList<string> ReadCategories(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Categories file {path} does not exist.", path);
        var text = File.ReadAllText(path);
        try
        {
            return text.TrimStart().StartsWith('[') ? JsonSerializer.Deserialize<string[]>(text)! : text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"Categories file {path} is not a JSON array of names: {e.Message}");
        }
    }

    /// <summary>Disposes the network, if it was built and not handed over to <see cref="ModelRunner"/>.</summary>
    public void Dispose()
    {
        if (network is { IsValueCreated: true } && !networkHandedOver)
            network.Value.Dispose();
    }
}
