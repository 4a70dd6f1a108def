using System.CommandLine;
using TorchVisionModels.Classification;
using TorchVisionModels.Onnx;

namespace Inference.Commands;

/// <summary>
/// The images an int8 model is calibrated on, declared once for <c>export --quantize int8</c> and every command that
/// takes <c>--dtype int8</c>: <c>--calibration</c>, <c>--calibration-count</c>, <c>--calibration-method</c>, read into
/// the library's <see cref="CalibrationSet"/>.
/// </summary>
sealed class CalibrationOptions
{
    public Option<string?> Directory { get; } = new("--calibration")
    {
        Description = "int8: a folder of images like those the model will classify, read as classify reads them; the model is quantized on them",
        HelpName = "DIR",
    };

    public Option<int> Count { get; } = OptionRules.Positive(new Option<int>("--calibration-count")
    {
        Description = $"int8: how many of the folder's images to calibrate on, taken evenly across it (default {CalibrationSet.DefaultCount})",
        DefaultValueFactory = _ => CalibrationSet.DefaultCount,
    });

    public Option<CalibrationMethod> Method { get; } = new("--calibration-method")
    {
        Description = $"int8: how activation ranges are read: minmax, percentile (99.99) or percentile:P (default {CalibrationMethod.Default})",
        HelpName = "minmax|percentile[:P]",
        DefaultValueFactory = _ => CalibrationMethod.Default,
        CustomParser = r =>
        {
            try
            {
                return CalibrationMethod.Parse(r.Tokens.Single().Value);
            }
            catch (FormatException e)
            {
                r.AddError($"--calibration-method: {e.Message}");
                return CalibrationMethod.Default;
            }
        },
    };

    public IEnumerable<Option> All => [Directory, Count, Method];

    /// <summary>The calibration asked for, or null without <c>--calibration</c>.</summary>
    /// <exception cref="ArgumentException"><c>--calibration-count</c> or <c>--calibration-method</c> without <c>--calibration</c>.</exception>
    public CalibrationSet? Read(ParseResult result)
    {
        if (result.GetValue(Directory) is { } directory)
            return new CalibrationSet(directory, result.GetValue(Count)) { Method = result.GetValue(Method)! };
        if (result.GetResult(Count) is { Implicit: false } || result.GetResult(Method) is { Implicit: false })
            throw new ArgumentException("--calibration-count and --calibration-method go with --calibration DIR, the images to calibrate on.");
        return null;
    }
}
