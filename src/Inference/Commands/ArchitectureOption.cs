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
}
