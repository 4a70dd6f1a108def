using System.Security.Cryptography;
using System.Text;
using TorchVisionModels.Datasets;
using TorchVisionModels.Onnx;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Classification;

/// <summary>
/// The images an int8 model is calibrated on: <see cref="Count"/> of the images in <see cref="Directory"/> and its
/// subfolders, taken evenly across their sorted list (so an ImageFolder tree, sorted by class, gives every class its
/// share), read and preprocessed exactly as <c>classify</c> reads them.
/// </summary>
/// <param name="Directory">The folder of images.</param>
/// <param name="Count">How many to use; the folder must hold at least as many.</param>
public sealed record CalibrationSet(string Directory, int Count = CalibrationSet.DefaultCount)
{
    /// <summary>The images used when no count is given: 256 kept float32's top-1 on Fashion-MNIST (benchmarks/RESULTS.md, "int8").</summary>
    public const int DefaultCount = 256;

    /// <summary>How the ranges are read from the images' activations.</summary>
    public CalibrationMethod Method { get; init; } = CalibrationMethod.Default;

    /// <summary>The chosen files, in order.</summary>
    /// <exception cref="OptionException">The folder is missing, or holds fewer images than <see cref="Count"/>.</exception>
    public IReadOnlyList<string> Files()
    {
        if (Count < 1)
            throw new OptionException($"{nameof(ClassifierOptions.Calibration)}.{nameof(Count)}", Count, "calibration needs at least one image");
        if (!System.IO.Directory.Exists(Directory))
            throw new OptionException(nameof(ClassifierOptions.Calibration), Directory, "no such folder: give a folder of images like those the model will classify");
        var all = FolderWalk.Files(Directory, ImageFile.HasImageExtension, _ => { }).ToList();
        if (all.Count == 0)
            throw new OptionException(nameof(ClassifierOptions.Calibration), Directory, "it holds no images, in it or its subfolders");
        if (all.Count < Count)
            throw new OptionException(nameof(ClassifierOptions.Calibration), Directory, $"it holds {all.Count} images, fewer than the {Count} asked for",
                ($"{nameof(ClassifierOptions.Calibration)}.{nameof(Count)}", all.Count));
        return [.. Enumerable.Range(0, Count).Select(i => all[(int)((long)i * all.Count / Count)])];
    }

    /// <summary>What names this calibration: a SHA-256 of <paramref name="files"/> (each one's path below <see cref="Directory"/> and its bytes) and the method.</summary>
    public string Sha256(IReadOnlyList<string> files)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(Method.ToString()));
        foreach (var file in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(Directory, file).Replace('\\', '/') + "\n"));
            hash.AppendData(SHA256.HashData(File.ReadAllBytes(file)));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The ranges of <paramref name="model"/>'s activations over <paramref name="files"/>, preprocessed by <paramref name="preset"/>.</summary>
    /// <exception cref="OptionException">An image cannot be read; the message names it (calibrating on fewer images than asked would change the model without saying so).</exception>
    public IReadOnlyDictionary<string, ActivationRange> Calibrate(ResNet model, ImageClassification preset, IReadOnlyList<string> files)
    {
        const int batchSize = 32;
        var batches = new List<Tensor>();
        try
        {
            foreach (var chunk in files.Chunk(batchSize))
            {
                // Decoding and resizing spread over the cores, as classify's; the first unreadable file is named.
                var images = chunk.AsParallel().AsOrdered().Select(file => Read(file, preset)).ToArray();
                try
                {
                    if (images.FirstOrDefault(i => i.Error is not null).Error is { } error)
                        throw new OptionException(nameof(ClassifierOptions.Calibration), Directory, error.Message.TrimEnd('.'));
                    batches.Add(stack(images.Select(i => i.Tensor!)));
                }
                finally
                {
                    foreach (var image in images)
                        image.Tensor?.Dispose();
                }
            }
            return Calibration.Ranges(model, batches, Method);
        }
        finally
        {
            foreach (var batch in batches)
                batch.Dispose();
        }
    }

    static (Tensor? Tensor, ImageFileException? Error) Read(string file, ImageClassification preset)
    {
        try
        {
            return (preset.forward(ImageFile.Load(file)), null);
        }
        catch (ImageFileException e)
        {
            return (null, e);
        }
    }
}
