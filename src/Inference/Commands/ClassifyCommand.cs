using System.CommandLine;
using TorchVisionModels.Classification;
using TorchVisionModels.Datasets;

namespace Inference.Commands;

/// <summary>
/// <c>classify</c>: the classic script: top-k ImageNet labels with softmax probabilities for each image, with the
/// exit codes of <see cref="ExitCodes"/>.
/// </summary>
static class ClassifyCommand
{
    public static Command Create()
    {
        var source = new SourceOptions();
        var topk = OptionRules.Positive(new Option<int?>("--topk") { Description = "Classes to show per image (default: 5, or all of a model's when it has fewer)" });
        var batchSize = OptionRules.Positive(new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 8 });
        var preprocessing = new PreprocessingOptions();
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of tables" };
        var exif = new Option<bool>("--exif-orientation") { Description = "Rotate images as their EXIF orientation says (PIL does not)" };
        var run = new RunOptions();
        var images = new Argument<string[]>("IMAGE_OR_DIR") { Description = "Image files, or folders to walk", Arity = ArgumentArity.ZeroOrMore };
        var filesFrom = new Option<string?>("--files-from") { Description = "Also classify the paths listed in this file, one per line (-: standard input), read as they are needed" };
        var shard = new Option<string?>("--shard") { Description = "Classify only part K of N (K/N, K from 0): a stable split by each file's path relative to its folder argument" };
        var shards = OptionRules.Positive(new Option<int?>("--shards")
        {
            Description = "Classify part JOB_COMPLETION_INDEX of N, as each pod of a Kubernetes Indexed Job of N completions (deploy/batch-job.yaml)",
        });
        var resultsPath = new Option<string?>("--output")
        {
            Description = "Write JSON Lines here, one line per image as it finishes, instead of printing; run again with the same file to resume where it stopped",
        };
        var reportPath = new Option<string?>("--report")
        {
            Description = $"Also write one self-contained HTML page: each image's thumbnail beside its top-k as bars, and the errors (the first {ClassificationReport.MaxShown} of each)",
        };

        var command = new Command("classify", $"Classify images: top-k labels and probabilities, as the classic PyTorch script prints them. {ExitCodes.Help}")
        {
            topk, batchSize, json, run.Verbose, exif, filesFrom, shard, shards, resultsPath, reportPath, images,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(images) is not { Length: > 0 } && r.GetValue(filesFrom) is null)
                r.AddError("give images or folders to classify (IMAGE_OR_DIR), or --files-from LIST");
            if (r.GetValue(shard) is not null && r.GetValue(shards) is not null)
                r.AddError("--shard K/N names the part, --shards N takes it from JOB_COMPLETION_INDEX: give one of them");
            if (r.GetValue(resultsPath) is not null && r.GetValue(json))
                r.AddError("--output writes JSON Lines; --json prints one document: give one of them");
        });
        foreach (var option in source.All.Concat(run.All).Concat(preprocessing.All))
            command.Options.Add(option);
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var asJson = result.GetValue(json);
            var part = result.GetValue(shard) is { } spec ? Shard.Parse(spec)
                : result.GetValue(shards) is { } count ? Shard.OfIndexedJob(count, Environment.GetEnvironmentVariable("JOB_COMPLETION_INDEX"))
                : Shard.All;
            var paths = result.GetValue(images)!.AsEnumerable();
            if (result.GetValue(filesFrom) is { } list)
                paths = paths.Concat(ImageInputs.Listed(list, Console.In));
            var files = ImageInputs.Expand(paths, warning => error.WriteLine($"warning: {warning}"), part);
            var resultsFile = result.GetValue(resultsPath);
            // Without --output, walked before the model loads: a folder without images is said at once. With it, a
            // list of any length streams.
            if (resultsFile is null)
                files = files.ToList();
            var options = run.Read(result, progress: !asJson && resultsFile is null, preset => preprocessing.Apply(result, preset));
            using var classifier = source.LoadClassifier(result, options);
            var k = result.GetValue(topk) ?? Math.Min(5, classifier.Categories.Count);
            if (k > classifier.Categories.Count)
                throw new ArgumentException($"--topk {k} is more than the model's {classifier.Categories.Count} classes.");
            if (result.GetValue(run.Verbose))
                error.WriteLine(run.Ran(result, classifier));

            // With --output, the images it records already are skipped: a killed run resumes.
            using var recorded = resultsFile is null ? null : ResultsFile.Open(resultsFile, ResultsFile.Run.Of(classifier.Source!, k, result.GetValue(exif)));
            var pending = recorded is null ? files : files.Where(f => !recorded.Records(f));
            var (failed, internalError) = (0, false);
            using var report = result.GetValue(reportPath) is { } page ? ClassificationReport.Create(page, $"{classifier.Source!.Architecture}, {classifier.Source.Description}") : null;
            var results = classifier.Classify(pending, k, result.GetValue(batchSize), result.GetValue(exif)).Select(r =>
            {
                failed += r.Error is null ? 0 : 1;
                internalError |= r.InternalError;
                report?.Add(r);
                return r;
            });
            if (recorded is not null)
            {
                var written = 0;
                foreach (var r in results)
                {
                    recorded.Write(r);
                    written++;
                }
                output.WriteLine($"{written} images classified into {resultsFile} ({recorded.Recorded} recorded there before, {failed} failed)");
            }
            else if (asJson)
                WriteJson(output, classifier.Source!.Architecture, classifier.Source.Description, classifier.Device.ToString(),
                    run.Describe(result, classifier.Backend!), results);
            else
                WriteTables(output, error, results);
            return internalError ? ExitCodes.InternalError : failed > 0 ? ExitCodes.SomeInputsFailed : ExitCodes.Success;
        }));
        return command;
    }

    static void WriteTables(TextWriter output, TextWriter error, IEnumerable<ClassificationResult> results)
    {
        foreach (var result in results)
        {
            if (result.Error is not null)
            {
                error.WriteLine($"error: {result.Error}");
                continue;
            }
            output.WriteLine(result.File);
            output.WriteLine($"  {"#",2}  {"probability",11}  label");
            var rank = 1;
            foreach (var p in result.Top!)
                output.WriteLine($"  {rank++,2}  {p.Probability,11:F6}  {p.Label}");
            output.WriteLine();
        }
    }

    static void WriteJson(TextWriter output, string architecture, string weights, string device, string backend, IEnumerable<ClassificationResult> results)
    {
        var all = results.ToList();
        var document = new
        {
            model = architecture,
            weights,
            device,
            backend,
            results = all.Select(ResultsFile.Record),
        };
        JsonOutput.Write(output, document);
    }
}
