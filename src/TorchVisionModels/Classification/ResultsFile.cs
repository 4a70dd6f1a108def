using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchVisionModels.Datasets;

namespace TorchVisionModels.Classification;

/// <summary>
/// Classification results as JSON Lines, one line per image written and flushed as it finishes, so a run of any length
/// holds no results in memory and a killed run resumes: opening the file again skips every image it records, and a
/// torn last line (the kill came mid-write) is cut off and its image done again. The first line says which run wrote
/// the file; a run of another model or other options does not resume it.
/// </summary>
public sealed class ResultsFile : IDisposable
{
    /// <summary>What the first line's <c>format</c> field holds.</summary>
    public const string FormatName = "torchvision-resnet-results/1";

    /// <summary>The option an <see cref="OptionException"/> of <see cref="Open"/> names: the results file's.</summary>
    public const string OptionName = "Output";

    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Which run writes a file: what must be the same for its results to be resumed.</summary>
    /// <param name="Architecture">The model's architecture, for people.</param>
    /// <param name="Weights">Where its weights came from, for people.</param>
    /// <param name="ModelSha256">The SHA-256 of what identifies the model (<see cref="ModelSource.Identity"/>): card, classes, preprocessing, weights file.</param>
    /// <param name="TopK">Classes recorded per image.</param>
    /// <param name="ExifOrientation">Whether images were turned as their EXIF orientation says.</param>
    public sealed record Run(string Architecture, string Weights, string ModelSha256, int TopK, bool ExifOrientation)
    {
        /// <summary>The format's name and version.</summary>
        public string Format { get; init; } = FormatName;

        /// <summary>The run of <paramref name="model"/>, recording <paramref name="topK"/> classes per image.</summary>
        public static Run Of(ModelSource model, int topK, bool exifOrientation)
            => new(model.Architecture, model.Description, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(model.Identity))), topK, exifOrientation);
    }

    readonly FileStream stream;
    // 64-bit hashes of the recorded paths (PathHash): a million of them take megabytes, not the paths' hundreds.
    readonly HashSet<ulong> recorded = [];

    ResultsFile(FileStream stream) => this.stream = stream;

    /// <summary>How many images the file recorded when it was opened.</summary>
    public int Recorded => recorded.Count;

    /// <summary>Opens <paramref name="path"/> for <paramref name="run"/>: a new file, or one it wrote before, to resume.</summary>
    /// <exception cref="OptionException">The file was written by another run, or is not a results file; nothing in it is changed.</exception>
    public static ResultsFile Open(string path, Run run)
    {
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var file = new ResultsFile(stream);
        try
        {
            if (stream.Length == 0)
                file.WriteLine(JsonSerializer.Serialize(run, Json));
            else
                file.Resume(path, run);
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    void Resume(string path, Run run)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        var written = Header(reader.ReadLine(), path);
        if (written != run)
            throw new OptionException(OptionName, path, $"holds the results of another run ({Difference(written, run)}); give another file, or delete it to start again");

        // Complete lines end in a newline; what follows the last one is a line torn by a kill, cut off here. The
        // lines are then read one at a time: a file of a million results is never held whole.
        var end = CompleteLength(stream);
        stream.SetLength(end);
        stream.Position = 0;
        using var lines = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        lines.ReadLine();
        while (lines.ReadLine() is { } line)
        {
            if (line.Length > 0)
                recorded.Add(PathHash.Of(FileOf(line)));
        }
        stream.Position = end;
    }

    /// <summary>The run that <paramref name="line"/>, the first of <paramref name="path"/>, names.</summary>
    /// <exception cref="OptionException">It names none: the file is not a results file.</exception>
    public static Run Header(string? line, string path)
    {
        Run? run = null;
        try
        {
            run = line is null ? null : JsonSerializer.Deserialize<Run>(line, Json);
        }
        catch (JsonException)
        {
        }
        return run is { Format: FormatName } ? run
            : throw new OptionException(OptionName, path, $"is not a results file ({FormatName}); give another file, or delete it");
    }

    /// <summary>The file a result line is about.</summary>
    public static string FileOf(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.GetProperty("file").GetString()!;
    }

    /// <summary>The length of <paramref name="stream"/> up to its last newline: its complete lines, read from the end.</summary>
    internal static long CompleteLength(Stream stream)
    {
        var buffer = new byte[4096];
        for (var end = stream.Length; end > 0;)
        {
            var start = Math.Max(0, end - buffer.Length);
            stream.Position = start;
            stream.ReadExactly(buffer, 0, (int)(end - start));
            var newline = Array.LastIndexOf(buffer, (byte)'\n', (int)(end - start) - 1);
            if (newline >= 0)
                return start + newline + 1;
            end = start;
        }
        return 0;
    }

    static string Difference(Run written, Run run)
        => written.TopK != run.TopK ? $"topk {written.TopK}, not {run.TopK}"
            : written.ExifOrientation != run.ExifOrientation ? $"EXIF orientation {(written.ExifOrientation ? "on" : "off")}"
            : $"{written.Architecture} from {written.Weights}, or with another preprocessing";

    /// <summary>Whether the file already records <paramref name="file"/>.</summary>
    public bool Records(string file) => recorded.Contains(PathHash.Of(file));

    /// <summary>Appends <paramref name="result"/> as one line and flushes it to the operating system.</summary>
    public void Write(ClassificationResult result) => WriteLine(JsonSerializer.Serialize(Record(result)));

    /// <summary>
    /// One result as JSON writes it, here and in <c>classify --json</c>: <c>{"file", "top": [{"label", "index",
    /// "probability"}]}</c>, or <c>{"file", "error"}</c>.
    /// </summary>
    public static object Record(ClassificationResult result) => result.Error is null
        ? new { file = result.File, top = result.Top!.Select(p => new { label = p.Label, index = p.Index, probability = p.Probability }) }
        : new { file = result.File, error = result.Error };

    void WriteLine(string json)
    {
        // Flushed to the operating system, which keeps it through a kill of this process.
        stream.Write(Encoding.UTF8.GetBytes(json + "\n"));
        stream.Flush();
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => stream.Dispose();
}
