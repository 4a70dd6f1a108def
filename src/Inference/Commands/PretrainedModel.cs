using System.Globalization;
using System.Text.Json;
using Inference.Backends;
using TorchVisionModels;
using TorchVisionModels.Onnx;
using TorchVisionModels.Serialization;
using TorchVisionModels.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary>A model with its weights, preprocessing and category names, from <c>--model</c> and <c>--weights</c>.</summary>
/// <param name="network">The model, built and loaded when first asked for: a cached ONNX export never needs it.</param>
/// <param name="weightsFile">The file the weights came from (a checkpoint, torch.hub's copy of torchvision's, or an .onnx file); null for random weights.</param>
sealed record PretrainedModel(Lazy<nn.Module<Tensor, Tensor>> network, ImageClassification transforms, IReadOnlyList<string> categories, string description,
    string? weightsFile)
{
    public PretrainedModel(nn.Module<Tensor, Tensor> model, ImageClassification transforms, IReadOnlyList<string> categories, string description, string? weightsFile)
        : this(new Lazy<nn.Module<Tensor, Tensor>>(model), transforms, categories, description, weightsFile)
    {
    }

    /// <summary>The model (built and loaded now if it was not yet).</summary>
    public nn.Module<Tensor, Tensor> model => network.Value;

    /// <summary>What the exporter writes into an ONNX model's metadata_props, so the file alone classifies.</summary>
    public Dictionary<string, string> OnnxMetadata(string architecture) => new()
    {
        ["architecture"] = architecture,
        ["weights"] = description,
        ["categories"] = JsonSerializer.Serialize(categories),
        ["resize_size"] = transforms.resize_size.ToString(CultureInfo.InvariantCulture),
        ["crop_size"] = transforms.crop_size.ToString(CultureInfo.InvariantCulture),
        ["mean"] = JsonSerializer.Serialize(transforms.mean),
        ["std"] = JsonSerializer.Serialize(transforms.std),
    };

    /// <summary>
    /// This model on <paramref name="device"/>, BatchNorm folded and channels-last (<see cref="FusedResNet"/>),
    /// computing in <paramref name="dtype"/>; disposes the plain one.
    /// </summary>
    public PretrainedModel Fused(Device device, ScalarType dtype)
    {
        var resnet = (ResNet)model;
        resnet.to(device);
        resnet.eval();
        var fused = new FusedResNet(resnet, dtype: dtype);
        resnet.Dispose();
        return this with { network = new(fused) };
    }

    /// <summary>
    /// This model exported to ONNX (BatchNorm folded, for <paramref name="size"/> x <paramref name="size"/> images, the
    /// preset's crop size by default) and run by ONNX Runtime; disposes the TorchSharp model. The export of weights
    /// from a file is cached (<see cref="OnnxExportCache"/>): the next run of the same weights and settings opens it.
    /// </summary>
    public PretrainedModel ToOnnxRuntime(string architecture, int threads, int? size = null)
    {
        const int opset = 17;
        var side = size ?? transforms.crop_size;
        var metadata = OnnxMetadata(architecture);
        void Export(string path) => OnnxExporter.Export((ResNet)model, path, foldBatchNorm: true, opset: opset, metadata: metadata, inputSize: (side, side));
        OnnxRuntimeModel onnx;
        if (weightsFile is null)
        {
            var path = Path.Combine(Path.GetTempPath(), $"{architecture}-{Guid.NewGuid():N}.onnx");
            try
            {
                Export(path);
                onnx = OnnxRuntimeModel.Open(path, threads);
            }
            finally
            {
                File.Delete(path);
            }
        }
        else
        {
            var key = OnnxExportCache.Key(weightsFile, architecture, metadata, side, fold: true, opset);
            metadata[OnnxExportCache.KeyEntry] = key;
            onnx = OnnxExportCache.Open(architecture, key, threads, Export);
        }
        if (network.IsValueCreated)
            model.Dispose();
        return this with { network = new(onnx) };
    }

    /// <summary>An exported .onnx file: its preprocessing and categories from its metadata, or the defaults.</summary>
    public static PretrainedModel LoadOnnx(string path, string? categoriesFile, int threads)
    {
        var onnx = OnnxRuntimeModel.Open(path, threads);
        var metadata = onnx.Metadata;
        var categories = categoriesFile is not null ? ReadCategories(categoriesFile)
            : metadata.TryGetValue("categories", out var json) ? JsonSerializer.Deserialize<string[]>(json)!
            : Weights.ImageNetCategories;
        var transforms = new ImageClassification(
            crop_size: metadata.TryGetValue("crop_size", out var crop) ? int.Parse(crop, CultureInfo.InvariantCulture) : 224,
            resize_size: metadata.TryGetValue("resize_size", out var resize) ? int.Parse(resize, CultureInfo.InvariantCulture) : 256,
            mean: metadata.TryGetValue("mean", out var mean) ? JsonSerializer.Deserialize<float[]>(mean) : null,
            std: metadata.TryGetValue("std", out var std) ? JsonSerializer.Deserialize<float[]>(std) : null);
        return new(onnx, transforms, categories, metadata.TryGetValue("weights", out var weights) ? weights : Path.GetFileName(path), path);
    }

    /// <summary>
    /// <paramref name="weights"/> names torchvision weights of the architecture (DEFAULT, IMAGENET1K_V1, ...), which
    /// come from torch.hub's cache or are downloaded, or is a checkpoint file, which works offline. For a file, the
    /// categories come from <paramref name="categoriesFile"/>, else the <c>NAME.categories.json</c> beside it
    /// (scripts/export_weights.py writes one), else ImageNet's when it has 1000 classes.
    /// </summary>
    public static PretrainedModel Load(string architecture, string weights, string? categoriesFile, bool progress)
    {
        var builder = torchvision.models.get_model_builder(architecture);
        if (Registered(architecture, weights) is { } chosen)
        {
            var categories = categoriesFile is null ? chosen.meta.categories : ReadCategories(categoriesFile);
            var file = chosen.get_file(progress);
            return new(new Lazy<nn.Module<Tensor, Tensor>>(() => builder(weights: chosen, progress: progress)), chosen.transforms, categories, chosen.ToString(), file);
        }

        var classes = CheckpointClasses(weights);
        var sibling = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(weights))!, Path.GetFileNameWithoutExtension(weights) + ".categories.json");
        var names = categoriesFile is not null ? ReadCategories(categoriesFile)
            : File.Exists(sibling) ? ReadCategories(sibling)
            : classes == Weights.ImageNetCategories.Count ? Weights.ImageNetCategories
            : Enumerable.Range(0, (int)classes).Select(i => $"class {i}").ToList();
        if (names.Count != classes)
            throw new ArgumentException($"{weights} predicts {classes} classes but its categories list {names.Count}.");
        return new(new Lazy<nn.Module<Tensor, Tensor>>(() => WithCheckpoint(builder(num_classes: classes), weights)),
            new ImageClassification(crop_size: 224, resize_size: 256), names, Path.GetFileName(weights), weights);
    }

    /// <summary>
    /// torchvision's weights of <paramref name="architecture"/> that <paramref name="weights"/> names, or null when
    /// it is a file.
    /// </summary>
    /// <exception cref="ArgumentException">It is neither; the message lists the architecture's weights.</exception>
    public static Weights? Registered(string architecture, string weights)
    {
        if (File.Exists(weights))
            return null;
        var known = torchvision.models.get_model_weights(architecture);
        if (weights != "DEFAULT" && known.values.All(w => w.name != weights))
            throw new ArgumentException(
                $"--weights {weights} is neither a file nor weights of {architecture} (DEFAULT, {string.Join(", ", known.values.Select(w => w.name))}).");
        return known[weights];
    }

    /// <summary>The number of classes a ResNet checkpoint predicts: the rows of its fc.weight.</summary>
    public static long CheckpointClasses(string path)
    {
        using var file = CheckpointFile.Open(path);
        return file.GetStateDict().TryGetValue("fc.weight", out var fc) ? fc.shape[0]
            : throw new ArgumentException($"{path} has no fc.weight: it is not a ResNet checkpoint.");
    }

    /// <summary><paramref name="model"/> with the weights of <paramref name="path"/> (strictly); disposed if they do not load.</summary>
    public static ResNet WithCheckpoint(ResNet model, string path)
    {
        try
        {
            model.load_state_dict(path);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
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
}
