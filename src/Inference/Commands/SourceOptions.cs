using System.CommandLine;
using TorchVisionModels.Classification;

namespace Inference.Commands;

/// <summary>
/// Which model, declared once for every command that loads one: <c>--model</c>, <c>--weights</c> (trained weights by
/// name or a file) and <c>--categories</c> (a checkpoint's class names), read into <see cref="ModelSource.Load"/>'s arguments.
/// </summary>
sealed class SourceOptions
{
    public Option<string> Model { get; } = ArchitectureOption.Create();

    public Option<string> Weights { get; } = new("--weights")
    {
        Description = "DEFAULT, IMAGENET1K_V1, IMAGENET1K_V2 (from torch.hub's cache, downloaded if missing), or a checkpoint file",
        DefaultValueFactory = _ => "DEFAULT",
    };

    public Option<string?> Categories { get; } = new("--categories") { Description = "Category names for a checkpoint file: a JSON array or one per line" };

    public IEnumerable<Option> All => [Model, Weights, Categories];

    /// <summary>The weights, run as <paramref name="options"/> say.</summary>
    public ImageClassifier LoadClassifier(ParseResult result, ClassifierOptions options)
        => ImageClassifier.Load(ArchitectureOption.Given(result, Model), result.GetValue(Weights)!, options, result.GetValue(Categories));

    /// <summary>The weights, with no backend chosen.</summary>
    public ModelSource Load(ParseResult result) => ModelSource.Load(ArchitectureOption.Given(result, Model), result.GetValue(Weights)!, result.GetValue(Categories));
}
