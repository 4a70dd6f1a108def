using System.CommandLine;
using TorchVisionModels;

namespace Inference.Commands;

/// <summary><c>--model NAME</c>: one of torchvision's ten ResNet builders, resnet50 by default.</summary>
static class ArchitectureOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--model") { Description = "Architecture", DefaultValueFactory = _ => "resnet50" };
        option.AcceptOnlyFromAmong([.. torchvision.models.list_models()]);
        return option;
    }

    /// <summary>The architecture when given on the command line; null leaves it to the weights' model card (resnet50 without one).</summary>
    public static string? Given(ParseResult result, Option<string> option) => result.GetResult(option) is { Implicit: false } ? result.GetValue(option) : null;
}
