using System.CommandLine;
using TorchVisionModels;
using static TorchSharp.torch;

namespace Inference.Commands;

/// <summary><c>info</c>: builds an architecture and prints its size and each stage's output shape.</summary>
static class InfoCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        var inputSize = new Option<int>("--input-size")
        {
            Description = "Height and width of the probe image",
            DefaultValueFactory = _ => 224,
        };
        inputSize.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 32)
                result.AddError("--input-size must be at least 32: the network downsamples by 32");
        });

        var command = new Command("info", "Show an architecture's parameters and the shape after each stage.");
        foreach (var option in model.All)
            command.Options.Add(option);
        command.Options.Add(inputSize);
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            using var resnet = model.Build(result);
            Print(result.InvocationConfiguration.Output, result.GetValue(model.Model)!, resnet, result.GetValue(inputSize));
            return 0;
        }));
        return command;
    }

    static void Print(TextWriter output, string name, ResNet model, int size)
    {
        var parameters = model.parameters().Sum(p => p.numel());
        output.WriteLine($"{name}: {parameters:N0} parameters, {model.state_dict().Count} state_dict entries");

        model.eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        // The stem ends at maxpool; then each stage; then the head's fc.
        var nodes = new Dictionary<string, string> { ["maxpool"] = "stem" };
        foreach (var stage in ResNetStructure.StageNames)
            nodes[stage] = stage;
        nodes["fc"] = "fc";
        using var extractor = torchvision.models.feature_extraction.create_feature_extractor(model, nodes);
        var input = randn(1, 3, size, size);
        output.WriteLine($"  {"input",-8} {Shape(input)}");
        foreach (var (stage, x) in extractor.call(input))
            output.WriteLine($"  {stage,-8} {Shape(x)}");
        output.WriteLine($"1x1 convolutions on the CPU: {PointwiseConvolution.Kernel} ({PointwiseConvolution.Reason})");
    }

    static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";
}
