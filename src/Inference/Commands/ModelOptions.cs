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

    public readonly Option<string> Norm = CreateNorm();

    /// <summary>The options that shape the network, without --num-classes (which fine-tuning takes from the data).</summary>
    public IEnumerable<Option> Architecture => [Model, ZeroInitResidual, ReplaceStrideWithDilation, Norm];

    public IEnumerable<Option> All => [Model, NumClasses, ZeroInitResidual, ReplaceStrideWithDilation, Norm];

    /// <summary>Builds the network the options describe; <paramref name="num_classes"/> and <paramref name="norm"/> override --num-classes and --norm.</summary>
    public ResNet Build(ParseResult result, Weights? weights = null, long? num_classes = null, string? norm = null)
        => torchvision.models.get_model_builder(result.GetValue(Model)!)(
            weights: weights,
            num_classes: num_classes ?? result.GetValue(NumClasses),
            zero_init_residual: result.GetValue(ZeroInitResidual),
            replace_stride_with_dilation: ReplaceStrideWithDilationOf(result),
            norm_layer: NormKinds.Named(norm ?? result.GetValue(Norm)!).Create);

    /// <summary>The --replace-stride-with-dilation flags; null (torchvision's default) when absent, which reads as empty.</summary>
    public bool[]? ReplaceStrideWithDilationOf(ParseResult result) => result.GetValue(ReplaceStrideWithDilation) is { Length: > 0 } flags ? flags : null;

    static Option<string> CreateNorm()
    {
        var option = new Option<string>("--norm")
        {
            Description = $"Normalisation layer: {string.Join(", ", NormKinds.All.Select(k => $"{k.Name} ({k.Description})"))}",
            DefaultValueFactory = _ => "bn",
        };
        option.AcceptOnlyFromAmong([.. NormKinds.Names]);
        return option;
    }

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
