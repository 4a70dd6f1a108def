using System.CommandLine;

namespace Inference.Commands;

/// <summary><c>export</c>: writes an architecture with its weights as an ONNX model that classifies on its own.</summary>
static class ExportCommand
{
    public static Command Create()
    {
        var source = new SourceOptions();
        var output = new Option<string>("--out") { Description = "The .onnx file to write", Required = true };
        var fold = new Option<bool>("--fold-bn") { Description = "Fold BatchNorm into the convolutions" };
        var dynamicSize = new Option<bool>("--dynamic-size")
        {
            Description = "Leave the image height and width dynamic (default: fixed at the weights' crop size, which ONNX Runtime runs faster; the batch is always dynamic)",
        };
        var opset = new Option<int>("--opset") { Description = "ONNX opset, 13 to 17", DefaultValueFactory = _ => 17 };
        opset.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 13 or > 17) r.AddError("--opset must be 13 to 17"); });

        var command = new Command("export", "Export a model to ONNX, with its categories and preprocessing in the file's metadata.")
        {
            output, fold, dynamicSize, opset,
        };
        foreach (var option in source.All)
            command.Options.Add(option);
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            using var model = source.Load(result);
            var path = result.GetValue(output)!;
            model.ExportOnnx(path, result.GetValue(fold), result.GetValue(opset), result.GetValue(dynamicSize) ? null : model.Transforms.crop_size);
            result.InvocationConfiguration.Output.WriteLine($"wrote {path} ({model.Architecture}, {model.Description}, {new FileInfo(path).Length / 1048576.0:F1} MB)");
            return 0;
        }));
        return command;
    }
}
