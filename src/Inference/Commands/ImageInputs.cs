using TorchVisionModels.Transforms;

namespace Inference.Commands;

/// <summary>The image files named on the command line: files as given, folders walked for the decodable formats.</summary>
static class ImageInputs
{
    public static IEnumerable<string> Expand(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(f => ImageFile.Extensions.Contains(Path.GetExtension(f)))
                    .Order(StringComparer.Ordinal);
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
