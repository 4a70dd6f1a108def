using System.Reflection;
using TorchVisionModels.Transforms;

namespace TorchVisionModels;

/// <summary>What torchvision's weights carry besides the file: the classes, the size, how they were trained, how well they do.</summary>
/// <param name="categories">The class names, by output index.</param>
/// <param name="min_size">The smallest input (height, width) the network accepts.</param>
/// <param name="num_params">The number of parameters.</param>
/// <param name="recipe">Where the training recipe is described.</param>
/// <param name="acc_1">Top-1 accuracy on ImageNet-1K's validation set, in percent.</param>
/// <param name="acc_5">Top-5 accuracy on ImageNet-1K's validation set, in percent.</param>
public sealed record WeightsMeta(IReadOnlyList<string> categories, (int height, int width) min_size, long num_params, string recipe, double acc_1, double acc_5);

/// <summary>
/// One set of pretrained weights, like torchvision's <c>Weights</c>: where the checkpoint is (<see cref="url"/>),
/// how to preprocess for it (<see cref="transforms"/>) and what it is (<see cref="meta"/>). Each architecture has
/// its own subclass, such as <see cref="ResNet50_Weights"/>, whose static fields are the available weights.
/// </summary>
public abstract class Weights
{
    /// <summary>torchvision's ImageNet-1K categories, the 1000 classes every ResNet weight predicts.</summary>
    public static readonly IReadOnlyList<string> ImageNetCategories = ReadCategories();

    private protected Weights(string name, string url, int resize_size, long num_params, string recipe, double acc_1, double acc_5)
    {
        this.name = name;
        this.url = url;
        transforms = new ImageClassification(crop_size: 224, resize_size: resize_size);
        meta = new WeightsMeta(ImageNetCategories, (1, 1), num_params, recipe, acc_1, acc_5);
    }

    /// <summary>The member's name, such as IMAGENET1K_V2.</summary>
    public string name { get; }

    /// <summary>Where torchvision downloads the checkpoint from.</summary>
    public string url { get; }

    /// <summary>The preprocessing these weights were evaluated with.</summary>
    public ImageClassification transforms { get; }

    /// <summary>Categories, size, recipe and accuracy.</summary>
    public WeightsMeta meta { get; }

    /// <summary>The checkpoint's file name, which torch.hub's cache uses too: it ends in a prefix of its SHA-256.</summary>
    public string FileName => Path.GetFileName(new Uri(url).AbsolutePath);

    /// <summary>
    /// The checkpoint's local path: torch.hub's cached copy (shared with PyTorch), downloaded first if missing and
    /// checked against the hash prefix in its name.
    /// </summary>
    public string GetFile(bool progress = true) => Hub.DownloadCached(url, progress: progress);

    /// <summary>
    /// torchvision's weights of <paramref name="architecture"/> that <paramref name="weights"/> names (DEFAULT,
    /// IMAGENET1K_V2, ...), or null when it is a file.
    /// </summary>
    /// <exception cref="OptionException">It is neither; the message lists the architecture's weights.</exception>
    public static Weights? Named(string architecture, string weights)
    {
        if (File.Exists(weights))
            return null;
        var known = torchvision.models.get_model_weights(architecture);
        if (weights != "DEFAULT" && known.Values.All(w => w.name != weights))
            throw new OptionException(nameof(Weights), weights,
                $"neither a file nor weights of {architecture} (DEFAULT, {string.Join(", ", known.Values.Select(w => w.name))})");
        return known[weights];
    }

    /// <summary>"ResNet50_Weights.IMAGENET1K_V2", as torchvision prints it.</summary>
    public override string ToString() => $"{GetType().Name}.{name}";

    static string[] ReadCategories()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("imagenet_categories.txt")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}

/// <summary>
/// The weights of one architecture, such as <see cref="ResNet50_Weights"/>: torchvision's WeightsEnum. A subclass
/// declares its members as static fields and its <c>DEFAULT</c>; <see cref="Values"/> and <see cref="verify"/> come
/// from them (<see cref="WeightsEnum.Of{T}"/>).
/// </summary>
/// <typeparam name="TSelf">The architecture's weights class.</typeparam>
public abstract class Weights<TSelf> : Weights where TSelf : Weights<TSelf>
{
    private protected Weights(string name, string url, int resize_size, long num_params, string recipe, double acc_1, double acc_5)
        : base(name, url, resize_size, num_params, recipe, acc_1, acc_5)
    {
    }

    /// <summary>Every member, in declaration order (torchvision's).</summary>
    public static IReadOnlyList<TSelf> Values => [.. WeightsEnum.Of<TSelf>().Values.Cast<TSelf>()];

    /// <summary>Checks that <paramref name="obj"/> is this architecture's weights (or null), as torchvision's builders do first.</summary>
    /// <exception cref="ArgumentException">They are another architecture's.</exception>
    public static TSelf? verify(Weights? obj) => (TSelf?)WeightsEnum.Of<TSelf>().verify(obj);
}
