using System.CommandLine;
using System.CommandLine.Parsing;
using TorchVisionModels;

namespace Inference.Commands;

/// <summary>The command-line options that choose an architecture and its torchvision options.</summary>
sealed class ModelOptions
{
    public readonly Option<string> Model = ArchitectureOption.Create();

    public readonly Option<long?> NumClasses = new("--num-classes") { Description = "Outputs of the final fc layer (default 1000)" };

    public readonly Option<bool> ZeroInitResidual = new("--zero-init-residual") { Description = "Start each residual branch at zero" };

    public readonly Option<bool[]?> ReplaceStrideWithDilation = new("--replace-stride-with-dilation")
    {
        Description = "Three flags for layer2..layer4, e.g. false,true,true",
        CustomParser = ParseFlags,
    };

    public IEnumerable<Option> All => [Model, NumClasses, ZeroInitResidual, ReplaceStrideWithDilation];

    public ResNet Build(ParseResult result)
        => torchvision.models.get_model_builder(result.GetValue(Model)!)(
            num_classes: result.GetValue(NumClasses),
            zero_init_residual: result.GetValue(ZeroInitResidual),
            // An absent array option reads as empty, not null; null means torchvision's default.
            replace_stride_with_dilation: result.GetValue(ReplaceStrideWithDilation) is { Length: > 0 } flags ? flags : null);

    static bool[]? ParseFlags(ArgumentResult result)
    {
        var parts = string.Join(",", result.Tokens.Select(t => t.Value)).Split(',', StringSplitOptions.TrimEntries);
        var flags = new bool[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!bool.TryParse(parts[i], out flags[i]))
            {
                result.AddError($"--replace-stride-with-dilation takes true/false flags separated by commas, got '{parts[i]}'");
                return null;
            }
        }
        return flags;
    }
}
