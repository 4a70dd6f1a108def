using System.CommandLine;
using TorchVisionModels.Classification;
using TorchVisionModels.Datasets;

namespace Inference.Commands;

/// <summary>
/// <c>merge</c>: the shards of a sharded <c>classify --output</c> run as one JSON Lines file (and a CSV table), each
/// input checked to be classified exactly once.
/// </summary>
static class MergeCommand
{
    public static Command Create()
    {
        var results = new Argument<string[]>("RESULTS") { Description = "The shards' --output files", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "The merged JSON Lines file", Required = true };
        var csv = new Option<string?>("--csv") { Description = "Also write a CSV table: file, rank, label, index, probability, error" };
        var inputs = new Option<string[]>("--inputs")
        {
            Description = "The images and folders the shards were given, to check that each was classified once",
            AllowMultipleArgumentsPerToken = true,
        };
        var filesFrom = new Option<string?>("--files-from") { Description = "The list the shards were given (-: standard input)" };
        var command = new Command("merge", "Merge the results of classify --shard runs, checking every input was classified exactly once. Exit codes: 0 every input once, 1 some missing or duplicated (each named), 2 bad option or file, 3 internal error (a bug).")
        {
            results, output, csv, inputs, filesFrom,
        };
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            var shards = result.GetValue(results)!;
            foreach (var shard in shards.Where(s => !File.Exists(s)))
                throw new FileNotFoundException($"{shard} does not exist.", shard);
            var error = result.InvocationConfiguration.Error;
            var paths = (result.GetValue(inputs) ?? []).AsEnumerable();
            if (result.GetValue(filesFrom) is { } list)
                paths = paths.Concat(ImageInputs.Listed(list, Console.In));
            var expected = ImageInputs.Expand(paths, warning => error.WriteLine($"warning: {warning}"), Shard.All);
            var report = ResultsMerge.Merge(shards, expected, result.GetValue(output)!, result.GetValue(csv));
            result.InvocationConfiguration.Output.WriteLine($"{report.Written} images from {shards.Length} shards merged into {result.GetValue(output)}");
            if (report.MissingCount > 0)
                error.WriteLine($"error: {report.MissingCount} inputs have no result: {Some(report.Missing, report.MissingCount)}");
            if (report.DuplicatedCount > 0)
                error.WriteLine($"error: {report.DuplicatedCount} inputs were classified more than once (kept once): {Some(report.Duplicated, report.DuplicatedCount)}");
            return report.IsComplete ? ExitCodes.Success : ExitCodes.SomeInputsFailed;
        }));
        return command;
    }

    static string Some(IReadOnlyList<string> named, long count)
        => string.Join(", ", named) + (count > named.Count ? $", and {count - named.Count} more" : "");
}
