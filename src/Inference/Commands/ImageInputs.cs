using TorchVisionModels.Datasets;
using TorchVisionModels.Transforms;

namespace Inference.Commands;

/// <summary>The image files named on the command line: files as given, folders walked for the decodable formats.</summary>
static class ImageInputs
{
    /// <summary>The files, each real folder walked once; <paramref name="warn"/> hears of each link not followed again.</summary>
    /// <exception cref="ArgumentException">A folder holds no image.</exception>
    public static IEnumerable<string> Expand(IEnumerable<string> paths, Action<string> warn)
    {
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var repeated = new List<string>();
                var files = FolderWalk.Folders(path, repeated)
                    .SelectMany(folder => Directory.EnumerateFiles(folder).Where(f => ImageFile.Extensions.Contains(Path.GetExtension(f))))
                    .Order(StringComparer.Ordinal)
                    .ToList();
                foreach (var link in repeated)
                    warn($"skipped {link}: a link to a folder already walked");
                if (files.Count == 0)
                    throw new ArgumentException($"{path} holds no images ({string.Join(", ", ImageFile.Extensions.Order(StringComparer.Ordinal))}, in it or its subfolders): give image files or a folder of them.");
                foreach (var file in files)
                    yield return file;
            }
            else
            {
                // A missing file is reported in its result, like an unreadable one, and the rest still run.
                yield return path;
            }
        }
    }
}
