using System.CommandLine;
using TorchVisionModels.Classification;

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
        var images = new Argument<string[]>("IMAGE_OR_DIR") { Description = "Image files, or folders to walk", Arity = ArgumentArity.OneOrMore };

        var command = new Command("classify", $"Classify images: top-k labels and probabilities, as the classic PyTorch script prints them. {ExitCodes.Help}")
        {
            topk, batchSize, json, run.Verbose, exif, images,
        };
        foreach (var option in source.All.Concat(run.All).Concat(preprocessing.All))
            command.Options.Add(option);
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            var output = result.InvocationConfiguration.Output;
            var asJson = result.GetValue(json);
            // Walked before the model loads: a folder without images is said at once.
            var files = ImageInputs.Expand(result.GetValue(images)!, warning => result.InvocationConfiguration.Error.WriteLine($"warning: {warning}")).ToList();
            var options = run.Read(result, progress: !asJson, preset => preprocessing.Apply(result, preset));
            using var classifier = source.LoadClassifier(result, options);
            var k = result.GetValue(topk) ?? Math.Min(5, classifier.Categories.Count);
            if (k > classifier.Categories.Count)
                throw new ArgumentException($"--topk {k} is more than the model's {classifier.Categories.Count} classes.");
            var error = result.InvocationConfiguration.Error;
            if (result.GetValue(run.Verbose))
                error.WriteLine(run.Ran(result, classifier));

            var failures = new List<ClassificationResult>();
            var results = classifier.Classify(files, k, result.GetValue(batchSize), result.GetValue(exif))
                .Select(r => { if (r.Error is not null) failures.Add(r); return r; });
            if (asJson)
                WriteJson(output, classifier.Source!.Architecture, classifier.Source.Description, classifier.Device.ToString(),
                    run.Describe(result, classifier.Backend!), results);
            else
                WriteTables(output, error, results);
            return failures.Any(f => f.InternalError) ? ExitCodes.InternalError
                : failures.Count > 0 ? ExitCodes.SomeInputsFailed : ExitCodes.Success;
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
            results = all.Select(r => r.Error is null
                ? (object)new { file = r.File, top = r.Top!.Select(p => new { label = p.Label, index = p.Index, probability = p.Probability }) }
                : new { file = r.File, error = r.Error }),
        };
        JsonOutput.Write(output, document);
    }
}
