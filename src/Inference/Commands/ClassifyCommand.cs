using System.CommandLine;
using System.Text.Json;
using TorchVisionModels;
using Inference.Backends;
using TorchVisionModels.Classification;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary>
/// <c>classify</c>: the classic script: top-k ImageNet labels with softmax probabilities for each image, with the
/// exit codes of <see cref="ExitCodes"/>.
/// </summary>
static class ClassifyCommand
{
    public static Command Create()
    {
        var model = ArchitectureOption.Create();
        var weights = WeightsOptions.CreateWeights();
        var categories = WeightsOptions.CreateCategories();
        var topk = new Option<int>("--topk") { Description = "Classes to show per image", DefaultValueFactory = _ => 5 };
        topk.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--topk must be at least 1"); });
        var batchSize = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 8 };
        batchSize.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--batch-size must be at least 1"); });
        var preprocessing = new PreprocessingOptions();
        var device = DeviceOption.Create();
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of tables" };
        var fast = new Option<bool>("--fast") { Description = "Torch backend: fold BatchNorm and run channels-last (false: the plain model)", DefaultValueFactory = _ => true };
        var dtype = DtypeOption.Create();
        var exif = new Option<bool>("--exif-orientation") { Description = "Rotate images as their EXIF orientation says (PIL does not)" };
        var backend = BackendOption.Create();
        var images = new Argument<string[]>("IMAGE_OR_DIR") { Description = "Image files, or folders to walk", Arity = ArgumentArity.OneOrMore };

        var command = new Command("classify", $"Classify images: top-k labels and probabilities, as the classic PyTorch script prints them. {ExitCodes.Help}")
        {
            model, weights, categories, topk, batchSize, device, backend, fast, dtype, json, exif, images,
        };
        foreach (var option in preprocessing.All)
            command.Options.Add(option);
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            var architecture = result.GetValue(model)!;
            var output = result.InvocationConfiguration.Output;
            var asJson = result.GetValue(json);
            var asked = result.GetValue(backend)!;
            var on = DeviceOption.Resolve(result.GetValue(device)!, asked == "auto" ? "torch" : asked);
            var (chosen, reason) = BackendOption.Resolve(asked, on, result.GetValue(dtype)!, result.GetValue(fast));
            DtypeOption.RequireFastPath(result.GetValue(dtype)!, chosen, result.GetValue(fast));
            var pretrained = Load(architecture, result.GetValue(weights)!, result.GetValue(categories), chosen, asJson);
            var preset = preprocessing.Apply(result, pretrained.transforms);
            pretrained = chosen == "torch" ? (result.GetValue(fast) ? pretrained.Fused(on, DtypeOption.Resolve(result.GetValue(dtype)!)) : pretrained)
                : pretrained.model is OnnxRuntimeModel onnx ? onnx.RequireInputSize(preset.crop_size, result.GetValue(weights)!, pretrained)
                : pretrained.ToOnnxRuntime(architecture, threads: 0, size: preset.crop_size);
            using var network = pretrained.model;
            var k = result.GetValue(topk);
            if (k > pretrained.categories.Count)
                throw new ArgumentException($"--topk {k} is more than the model's {pretrained.categories.Count} classes.");

            var classifier = new ImageClassifier(network, preset, pretrained.categories, on);
            var error = result.InvocationConfiguration.Error;
            var files = ImageInputs.Expand(result.GetValue(images)!, warning => error.WriteLine($"warning: {warning}"));
            var failures = new List<ClassificationResult>();
            var results = classifier.Classify(files, k, result.GetValue(batchSize), result.GetValue(exif))
                .Select(r => { if (r.error is not null) failures.Add(r); return r; });
            if (asJson)
                WriteJson(output, architecture, pretrained.description, on.ToString(), $"{chosen} ({reason})", results);
            else
                WriteTables(output, error, results);
            return failures.Any(f => f.internal_error) ? ExitCodes.InternalError
                : failures.Count > 0 ? ExitCodes.SomeInputsFailed : ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>The TorchSharp model, or for an .onnx file (which only ONNX Runtime runs) the ONNX Runtime one.</summary>
    static PretrainedModel Load(string architecture, string weights, string? categories, string backend, bool quiet)
    {
        if (!weights.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            return PretrainedModel.Load(architecture, weights, categories, progress: !quiet);
        if (backend == "torch")
            throw new ArgumentException($"--weights {weights} is an ONNX model: run it with --backend onnxruntime.");
        return PretrainedModel.LoadOnnx(weights, categories, threads: 0);
    }

    static void WriteTables(TextWriter output, TextWriter error, IEnumerable<ClassificationResult> results)
    {
        foreach (var result in results)
        {
            if (result.error is not null)
            {
                error.WriteLine($"error: {result.error}");
                continue;
            }
            output.WriteLine(result.file);
            output.WriteLine($"  {"#",2}  {"probability",11}  label");
            var rank = 1;
            foreach (var p in result.top!)
                output.WriteLine($"  {rank++,2}  {p.probability,11:F6}  {p.label}");
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
            results = all.Select(r => r.error is null
                ? (object)new { r.file, top = r.top!.Select(p => new { p.label, p.index, p.probability }) }
                : new { r.file, r.error }),
        };
        output.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }
}
