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
        var quantize = new Option<string?>("--quantize")
        {
            Description = "int8: quantize the model (int8 weights per channel, uint8 activations, the norm layers folded), calibrated on --calibration images",
        };
        quantize.AcceptOnlyFromAmong("int8");
        var calibration = new CalibrationOptions();
        var opset = new Option<int>("--opset") { Description = "ONNX opset, 13 to 17", DefaultValueFactory = _ => 17 };
        opset.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 13 or > 17) r.AddError("--opset must be 13 to 17"); });

        var command = new Command("export", "Export a model to ONNX, with its categories and preprocessing in the file's metadata.")
        {
            output, fold, dynamicSize, opset, quantize,
        };
        foreach (var option in source.All.Concat(calibration.All))
            command.Options.Add(option);
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            using var model = source.Load(result);
            var path = result.GetValue(output)!;
            var size = result.GetValue(dynamicSize) ? null : (int?)model.Transforms.crop_size;
            var images = calibration.Read(result);
            if (result.GetValue(quantize) is null)
            {
                if (images is not null)
                    throw new ArgumentException("--calibration quantizes the model: add --quantize int8.");
                model.ExportOnnx(path, result.GetValue(fold), result.GetValue(opset), size);
            }
            else
            {
                model.ExportInt8(path, images ?? throw new ArgumentException("--quantize int8 calibrates on images like those the model will classify: add --calibration DIR."),
                    model.Transforms, result.GetValue(opset), size);
            }
            var kind = images is null ? "" : $", int8 calibrated on {images.Count} images by {images.Method}";
            result.InvocationConfiguration.Output.WriteLine($"wrote {path} ({model.Architecture}, {model.Description}{kind}, {new FileInfo(path).Length / 1048576.0:F1} MB)");
            return 0;
        }));
        return command;
    }
}
