using System.CommandLine;
using TorchVisionModels.Datasets;
using TorchVisionModels.Training;

namespace Inference.Commands;

/// <summary><c>evaluate</c>: top-1 and top-5 of a model on an ImageFolder tree, with a per-class table.</summary>
static class EvaluateCommand
{
    public static Command Create()
    {
        var source = new SourceOptions();
        var data = new Option<string>("--data") { Description = "Images to evaluate on: one sub-folder per class", Required = true };
        var batchSize = OptionRules.Positive(new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 64 });
        var preprocessing = new PreprocessingOptions();
        var workers = new Option<int>("--workers") { Description = "Threads decoding images", DefaultValueFactory = _ => 2 };
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of the table" };
        var run = new RunOptions();
        var report = new Option<string?>("--report")
        {
            Description = "Also write one self-contained HTML page: accuracy per class and the confusion matrix (the most frequent confusions past 50 classes)",
        };

        var command = new Command("evaluate", "Top-1 and top-5 accuracy of a model on a folder of labelled images, overall and per class.")
        {
            data, batchSize, workers, json, report, run.Verbose,
        };
        foreach (var option in source.All.Concat(run.All).Concat(preprocessing.All))
            command.Options.Add(option);
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            var directory = result.GetValue(data)!;
            if (!Directory.Exists(directory))
                throw new DirectoryNotFoundException($"--data {directory} does not exist.");
            var dataset = new ImageFolder(directory);
            var options = run.Read(result, progress: !result.GetValue(json), preset => preprocessing.Apply(result, preset));
            using var classifier = source.LoadClassifier(result, options);
            var loaded = classifier.Source!;
            if (loaded.Categories.Count != dataset.classes.Count)
                throw new ArgumentException($"{loaded.Description} predicts {loaded.Categories.Count} classes; {directory} has {dataset.classes.Count}.");
            var error = result.InvocationConfiguration.Error;
            if (result.GetValue(run.Verbose))
                error.WriteLine(run.Ran(result, classifier));
            if (!loaded.Categories.SequenceEqual(dataset.classes) && loaded.Categories.Any(c => dataset.class_to_idx.ContainsKey(c)))
                error.WriteLine($"warning: the model's classes are not {directory}'s class folders in the same order; class i of the model is scored as folder i.");

            var preset = classifier.Transforms;
            var loader = new ImageFolderLoader(dataset, (image, _) => preset.forward(image), result.GetValue(batchSize), num_workers: Math.Max(1, result.GetValue(workers)));
            loader.Skipped += e => error.WriteLine($"warning: skipped {e.Message}");
            var evaluation = Evaluation.Evaluate(classifier.Model, loader, dataset.classes.Count, classifier.Device);
            if (result.GetValue(report) is { } page)
                EvaluationReport.Write(page, $"{loaded.Architecture}, {loaded.Description}, on {directory}", evaluation, dataset.classes);

            var output = result.InvocationConfiguration.Output;
            if (result.GetValue(json))
            {
                JsonOutput.Write(output, new
                {
                    weights = loaded.Description, data = directory, images = evaluation.Total.Sum(), top1 = evaluation.Top1, top5 = evaluation.Top5, loss = evaluation.Loss,
                    classes = dataset.classes.Select((c, i) => new { name = c, images = evaluation.Total[i], top1 = Percent(evaluation.Correct[i], evaluation.Total[i]) }),
                });
                return 0;
            }
            var width = Math.Max(5, dataset.classes.Max(c => c.Length));
            output.WriteLine($"{loaded.Description} on {directory}: {evaluation.Total.Sum()} images");
            output.WriteLine($"top-1 {evaluation.Top1:F2}%  top-5 {evaluation.Top5:F2}%  loss {evaluation.Loss:F4}");
            output.WriteLine();
            output.WriteLine($"{"class".PadRight(width)}  {"images",7}  {"top-1",7}");
            for (var i = 0; i < dataset.classes.Count; i++)
                output.WriteLine($"{dataset.classes[i].PadRight(width)}  {evaluation.Total[i],7}  {Percent(evaluation.Correct[i], evaluation.Total[i]),6:F2}%");
            return 0;
        }));
        return command;
    }

    static double Percent(long part, long whole) => whole == 0 ? 0 : 100.0 * part / whole;
}
