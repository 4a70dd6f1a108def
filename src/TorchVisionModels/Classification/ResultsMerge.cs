using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchVisionModels.Datasets;
using TorchVisionModels.Serialization;

namespace TorchVisionModels.Classification;

/// <summary>
/// What a merge found: how many images it wrote, and how many inputs had no result or more than one, the first
/// <see cref="ResultsMerge.Named"/> of each by name (a run over millions of inputs may miss millions).
/// </summary>
/// <param name="Written">Images in the merged file, each once.</param>
/// <param name="MissingCount">Inputs no shard recorded.</param>
/// <param name="Missing">The first of them, in input order.</param>
/// <param name="DuplicatedCount">Inputs recorded more than once (kept once in the merged file).</param>
/// <param name="Duplicated">The first of them, in shard order.</param>
public sealed record MergeReport(long Written, long MissingCount, IReadOnlyList<string> Missing, long DuplicatedCount, IReadOnlyList<string> Duplicated)
{
    /// <summary>Every input was classified exactly once.</summary>
    public bool IsComplete => MissingCount == 0 && DuplicatedCount == 0;
}

/// <summary>
/// Merges the <see cref="ResultsFile"/>s of a sharded run into one, checking that every input was classified exactly
/// once: the shards must come from one run (the same first line), and a torn last line counts as no result.
/// </summary>
public static class ResultsMerge
{
    /// <summary>How many missing and duplicated inputs a <see cref="MergeReport"/> names; the rest are counted.</summary>
    public const int Named = 20;

    /// <summary>
    /// Writes <paramref name="shards"/>' results to <paramref name="output"/> (JSON Lines, the shards' first line
    /// first) and, when given, <paramref name="csv"/> (a row per image and rank), then checks them against
    /// <paramref name="inputs"/>. Both files are written atomically.
    /// </summary>
    /// <exception cref="OptionException">A shard is not a results file, or comes from another run than the first.</exception>
    public static MergeReport Merge(IReadOnlyList<string> shards, IEnumerable<string> inputs, string output, string? csv = null)
    {
        var counts = new Dictionary<ulong, int>();
        var duplicated = new List<string>();
        var (written, duplicates) = (0L, 0L);

        void Write(Stream jsonStream, Stream? csvStream)
        {
            using var jsonLines = new StreamWriter(jsonStream, new UTF8Encoding(false), bufferSize: -1, leaveOpen: true) { NewLine = "\n" };
            using var table = csvStream is null ? null : new StreamWriter(csvStream, new UTF8Encoding(false), bufferSize: -1, leaveOpen: true) { NewLine = "\n" };
            table?.WriteLine("file,rank,label,index,probability,error");
            ResultsFile.Run? run = null;
            foreach (var shard in shards)
            {
                using var reader = new StreamReader(shard, Encoding.UTF8);
                var header = ResultsFile.Header(reader.ReadLine(), shard);
                if (run is null)
                {
                    run = header;
                    jsonLines.WriteLine(JsonSerializer.Serialize(header, ResultsFile.Json));
                }
                else if (header != run)
                    throw new OptionException(ResultsFile.OptionName, shard, $"comes from another run than {shards[0]}: merge the shards of one run");
                foreach (var line in CompleteLines(shard, reader))
                {
                    using var document = JsonDocument.Parse(line);
                    var file = document.RootElement.GetProperty("file").GetString()!;
                    var hash = PathHash.Of(file);
                    var seen = counts.GetValueOrDefault(hash);
                    counts[hash] = seen + 1;
                    if (seen == 1 && duplicates++ < Named)
                        duplicated.Add(file);
                    if (seen > 0)
                        continue;
                    jsonLines.WriteLine(line);
                    if (table is not null)
                        WriteRows(table, document.RootElement);
                    written++;
                }
            }
        }

        // The table is renamed into place first and the JSON Lines last: a failure leaves neither half-written.
        if (csv is null)
            StateDictFiles.WriteAtomically(output, json => Write(json, null));
        else
            StateDictFiles.WriteAtomically(output, json => StateDictFiles.WriteAtomically(csv, table => Write(json, table)));
        var (missing, absent) = (new List<string>(), 0L);
        foreach (var input in inputs.Where(i => !counts.ContainsKey(PathHash.Of(i))))
        {
            if (absent++ < Named)
                missing.Add(input);
        }
        return new(written, absent, missing, duplicates, duplicated);
    }

    /// <summary>The lines that end in a newline, read one at a time: a last line without one was torn by a kill.</summary>
    static IEnumerable<string> CompleteLines(string path, StreamReader reader)
    {
        bool endsInNewline;
        using (var file = File.OpenRead(path))
            endsInNewline = ResultsFile.CompleteLength(file) == file.Length;
        string? previous = null;
        while (reader.ReadLine() is { } line)
        {
            if (previous is { Length: > 0 })
                yield return previous;
            previous = line;
        }
        if (previous is { Length: > 0 } && endsInNewline)
            yield return previous;
    }

    static void WriteRows(TextWriter table, JsonElement result)
    {
        var file = Csv(result.GetProperty("file").GetString()!);
        if (result.TryGetProperty("error", out var error))
        {
            table.WriteLine($"{file},,,,,{Csv(error.GetString()!)}");
            return;
        }
        var rank = 1;
        foreach (var p in result.GetProperty("top").EnumerateArray())
            table.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{file},{rank++},{Csv(p.GetProperty("label").GetString()!)},{p.GetProperty("index").GetInt64()},{p.GetProperty("probability").GetSingle()},"));
    }

    // RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
    static string Csv(string field) => field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : $"\"{field.Replace("\"", "\"\"")}\"";
}
