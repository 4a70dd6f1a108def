using TorchVisionModels.Datasets;
using TorchVisionModels.Transforms;

namespace Inference.Commands;

/// <summary>The image files named on the command line or in a list: files as given, folders walked for the decodable formats.</summary>
static class ImageInputs
{
    /// <summary>
    /// The files of <paramref name="shard"/>, found as they are asked for (a folder streams, one subfolder's entries at a
    /// time), each real folder walked once; <paramref name="warn"/> hears of each link not followed again. A folder's
    /// files are sharded by their path relative to it, a file by its path as given.
    /// </summary>
    /// <exception cref="ArgumentException">A folder holds no image.</exception>
    public static IEnumerable<string> Expand(IEnumerable<string> paths, Action<string> warn, Shard shard)
    {
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var any = false;
                foreach (var file in FolderWalk.Files(path, ImageFile.HasImageExtension,
                    link => warn($"skipped {link}: a link to a folder already walked")))
                {
                    any = true;
                    if (shard.Contains(Path.GetRelativePath(path, file).Replace('\\', '/')))
                        yield return file;
                }
                if (!any)
                    throw new ArgumentException($"{path} holds no images ({string.Join(", ", ImageFile.Extensions.Order(StringComparer.Ordinal))}, in it or its subfolders): give image files or a folder of them.");
            }
            else if (shard.Contains(path))
            {
                // A missing file is reported in its result, like an unreadable one, and the rest still run.
                yield return path;
            }
        }
    }

    /// <summary>The paths listed in <paramref name="list"/>, one per line (<c>-</c>: standard input), read as they are needed.</summary>
    /// <exception cref="FileNotFoundException">The list does not exist.</exception>
    public static IEnumerable<string> Listed(string list, TextReader standardInput)
    {
        if (list != "-" && !File.Exists(list))
            throw new FileNotFoundException($"--files-from {list} does not exist.", list);
        var lines = list == "-" ? Lines(standardInput) : File.ReadLines(list);
        return lines.Where(l => l.Length > 0);
    }

    static IEnumerable<string> Lines(TextReader reader)
    {
        while (reader.ReadLine() is { } line)
            yield return line;
    }
}
