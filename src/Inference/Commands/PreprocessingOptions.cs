using System.CommandLine;
using TorchVisionModels.Transforms;

namespace Inference.Commands;

/// <summary><c>--crop-size</c> and <c>--resize-size</c>: the evaluation preset's sizes, for a model trained at another size.</summary>
sealed class PreprocessingOptions
{
    public readonly Option<int?> CropSize = new("--crop-size") { Description = "Side of the center crop (default: the weights' preset, 224 for a file)" };

    public readonly Option<int?> ResizeSize = new("--resize-size") { Description = "Shorter side before the crop (default: the weights' preset, 256 for a file)" };

    public IEnumerable<Option> All => [CropSize, ResizeSize];

    /// <summary><paramref name="preset"/> with the sizes given on the command line.</summary>
    public ImageClassification Apply(ParseResult result, ImageClassification preset) => preset with
    {
        crop_size = result.GetValue(CropSize) ?? preset.crop_size,
        resize_size = result.GetValue(ResizeSize) ?? preset.resize_size,
    };
}
