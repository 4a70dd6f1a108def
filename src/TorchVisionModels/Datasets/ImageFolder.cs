using TorchVisionModels.Transforms;

namespace TorchVisionModels.Datasets;

/// <summary>
/// torchvision's <c>ImageFolder</c>: <c>root/&lt;class&gt;/**/&lt;image&gt;</c>, one folder per class. Classes are the
/// folder names sorted ordinally, <see cref="class_to_idx"/> numbers them in that order, and <see cref="samples"/>
/// lists every image file as torchvision does (folders walked in sorted order, files sorted). Files with an
/// extension torchvision lists but this library does not decode (.ppm, .pgm, .tif, .tiff) are left out and named in
/// <see cref="Skipped"/>. Symbolic links are followed, but each real folder is walked once (<see cref="FolderWalk"/>):
/// links to a folder already walked, which torchvision would follow round a loop, are named in <see cref="RepeatedFolders"/>.
/// </summary>
public sealed class ImageFolder
{
    static readonly string[] TorchvisionExtensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"];

    /// <summary>Indexes the images under <paramref name="root"/>.</summary>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="ArgumentException">There are no class folders, or a class folder holds no image.</exception>
    public ImageFolder(string root)
    {
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"Image folder {root} does not exist.");
        this.root = root;
        (classes, class_to_idx) = find_classes(root);

        var samples = new List<(string path, int target)>();
        var skipped = new List<string>();
        var repeated = new List<string>();
        var empty = new List<string>();
        foreach (var name in classes)
        {
            var before = samples.Count;
            foreach (var path in ImageFiles(Path.Combine(root, name), repeated))
            {
                if (ImageFile.HasImageExtension(path))
                    samples.Add((path, class_to_idx[name]));
                else
                    skipped.Add(path);
            }
            if (samples.Count == before)
                empty.Add(name);
        }
        if (empty.Count > 0)
            throw new ArgumentException(
                $"Image folder {root} has no image in class folder(s) {string.Join(", ", empty)}. Supported extensions are: {string.Join(", ", TorchvisionExtensions.Where(ImageFile.Extensions.Contains))}.");
        this.samples = samples;
        Skipped = skipped;
        RepeatedFolders = repeated;
        targets = samples.Select(s => s.target).ToList();
    }

    /// <summary>The folder the dataset was read from.</summary>
    public string root { get; }

    /// <summary>The class names, sorted ordinally.</summary>
    public IReadOnlyList<string> classes { get; }

    /// <summary>Each class name's index, its position in <see cref="classes"/>.</summary>
    public IReadOnlyDictionary<string, int> class_to_idx { get; }

    /// <summary>Every image file and its class index, in torchvision's order.</summary>
    public IReadOnlyList<(string path, int target)> samples { get; }

    /// <summary>The class index of each sample.</summary>
    public IReadOnlyList<int> targets { get; }

    /// <summary>Files torchvision would list that this library cannot decode; they are not in <see cref="samples"/>.</summary>
    public IReadOnlyList<string> Skipped { get; }

    /// <summary>Symbolic links to folders already walked, not followed again.</summary>
    public IReadOnlyList<string> RepeatedFolders { get; }

    /// <summary>The number of samples.</summary>
    public int Count => samples.Count;

    /// <summary>Decodes sample <paramref name="index"/> as RGB, with its class index.</summary>
    /// <exception cref="ImageFileException">The file cannot be read or decoded.</exception>
    public (RgbImage image, int target) this[int index] => (ImageFile.Load(samples[index].path), samples[index].target);

    /// <summary>torchvision's <c>find_classes</c>: the sub-folders of <paramref name="directory"/>, sorted, numbered from 0.</summary>
    public static (IReadOnlyList<string> classes, IReadOnlyDictionary<string, int> class_to_idx) find_classes(string directory)
    {
        var classes = Directory.EnumerateDirectories(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        if (classes.Count == 0)
            throw new ArgumentException($"Image folder {directory} has no class folders: put each class's images in a sub-folder named after it.");
        return (classes!, classes.Select((name, i) => (name, i)).ToDictionary(c => c.name!, c => c.i));
    }

    /// <summary>Files with torchvision's image extensions: folders in sorted order (symbolic links followed), each folder's files sorted.</summary>
    static IEnumerable<string> ImageFiles(string classDirectory, ICollection<string> repeated)
        => FolderWalk.Folders(classDirectory, repeated).SelectMany(folder => Directory.EnumerateFiles(folder)
            .Where(f => TorchvisionExtensions.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            .Order(StringComparer.Ordinal));
}
