using System.CommandLine;

namespace Inference.Commands;

/// <summary><c>--weights</c> and <c>--categories</c>: which trained weights, and for a checkpoint file, whose class names.</summary>
static class WeightsOptions
{
    public static Option<string> CreateWeights() => new("--weights")
    {
        Description = "DEFAULT, IMAGENET1K_V1, IMAGENET1K_V2 (from torch.hub's cache, downloaded if missing), or a checkpoint file",
        DefaultValueFactory = _ => "DEFAULT",
    };

    public static Option<string?> CreateCategories() => new("--categories") { Description = "Category names for a checkpoint file: a JSON array or one per line" };
}
