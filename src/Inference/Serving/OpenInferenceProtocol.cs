using TorchVisionModels.Classification;
using static TorchSharp.torch;

namespace Inference.Serving;

/// <summary>
/// KServe's Open Inference Protocol (v2) for one model, what REST (<see cref="OpenInferenceJson"/>) and gRPC
/// (<see cref="GrpcInferenceService"/>) share: the model's metadata, the checks every request passes before anything
/// is allocated for it (k, outputs, the input's shape against the data sent and the per-request image cap), and the
/// outputs: <c>logits</c> (FP32 [N, classes], the default), <c>probabilities</c> (FP32 [N, classes]) and the top k
/// (<c>top_k_labels</c> BYTES, <c>top_k_indices</c> INT64, <c>top_k_probabilities</c> FP32, each [N, k]; k from the
/// request's <c>top_k</c> parameter, else the server's). Inputs are preprocessed images (<c>input</c>, FP32
/// [N, 3, H, W]) or encoded image files (<c>image</c>, BYTES [N]).
/// </summary>
static class OpenInferenceProtocol
{
    public const string TensorInput = "input";
    public const string ImageInput = "image";
    static readonly string[] OutputNames = ["logits", "probabilities", "top_k_labels", "top_k_indices", "top_k_probabilities"];

    /// <summary>A tensor's name, datatype and shape (-1: any size), as model metadata lists them.</summary>
    public sealed record TensorMetadata(string Name, string Datatype, long[] Shape);

    /// <summary>A model's metadata, as <c>GET /v2/models/{name}</c> answers it (in JSON, in snake case: <see cref="Json"/>).</summary>
    public sealed record ModelMetadata(string Name, string[] Versions, string Platform, TensorMetadata[] Inputs, TensorMetadata[] Outputs);

    /// <summary>One output of a response: its values, row after row (float, long or string).</summary>
    public sealed record Output(string Name, string Datatype, long[] Shape, object[] Data);

    /// <summary>How the protocol's JSON names these records' properties.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions Json = new() { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The model's inputs and outputs.</summary>
    public static ModelMetadata Metadata(ServedModel model)
    {
        var crop = model.Classifier.Transforms.crop_size;
        var classes = model.Classifier.Categories.Count;
        return new(model.Name, ["1"], "torchvision-resnet",
            [new(TensorInput, "FP32", [-1, 3, crop, crop]), new(ImageInput, "BYTES", [-1])],
            [
                new("logits", "FP32", [-1, classes]), new("probabilities", "FP32", [-1, classes]), new("top_k_labels", "BYTES", [-1, -1]),
                new("top_k_indices", "INT64", [-1, -1]), new("top_k_probabilities", "FP32", [-1, -1]),
            ]);
    }

    /// <summary>k: the request's <c>top_k</c>, else the server's, within the model's classes.</summary>
    public static int TopK(long? asked, ServedModel model, ServerOptions options)
    {
        var classes = model.Classifier.Categories.Count;
        var topk = asked ?? options.TopK;
        return topk >= 1 && topk <= classes ? (int)topk : throw new BadRequestException($"parameters.top_k must be 1 to {classes}, got {topk}.");
    }

    /// <summary>The outputs asked for (<c>logits</c> when none), each one this model has.</summary>
    public static IReadOnlyList<string> Outputs(IReadOnlyList<string>? asked, ServedModel model)
    {
        if (asked is null || asked.Count == 0)
            return ["logits"];
        return asked.FirstOrDefault(o => !OutputNames.Contains(o)) is { } unknown
            ? throw new BadRequestException($"outputs: '{unknown}' is not an output of {model.Name} ({string.Join(", ", OutputNames)}).")
            : asked;
    }

    /// <summary>The input's kind, from its name and datatype: true for preprocessed images, false for image files.</summary>
    public static bool IsTensorInput(string? name, string? datatype) => (name, datatype) switch
    {
        (TensorInput, "FP32") => true,
        (ImageInput, "BYTES") => false,
        _ => throw new BadRequestException($"inputs[0] must be '{TensorInput}' with datatype FP32 or '{ImageInput}' with datatype BYTES, got '{name}' with {datatype}."),
    };

    /// <summary>
    /// Checks preprocessed images' shape against the model, the image cap and the <paramref name="count"/> of numbers
    /// sent, and reserves their memory: the number of images, and the reservation the caller holds until answered.
    /// </summary>
    public static (int images, IDisposable reservation) CheckTensorInput(long[] shape, long count, ServedModel model, ServerOptions options)
    {
        var crop = model.Classifier.Transforms.crop_size;
        if (shape.Length != 4 || shape[0] < 1 || shape[1] != 3 || shape[2] != crop || shape[3] != crop)
            throw new BadRequestException($"inputs[0].shape must be [N, 3, {crop}, {crop}], got {Shape(shape)}.");
        CheckImageCount(shape[0], options);
        if (count != shape[0] * model.ImageElements)
            throw new BadRequestException($"inputs[0].data has {count} numbers; shape {Shape(shape)} needs {shape[0] * model.ImageElements}.");
        return ((int)shape[0], model.Memory.Reserve(shape[0] * model.TensorBytes, "inputs[0]"));
    }

    /// <summary>As <see cref="CheckTensorInput"/>, for <paramref name="count"/> image files.</summary>
    public static IDisposable CheckImageInput(long[] shape, long count, ServedModel model, ServerOptions options)
    {
        if (shape.Length is < 1 or > 2 || shape[0] != count || shape.Skip(1).Any(d => d != 1))
            throw new BadRequestException($"inputs[0].shape must be [N] (or [N, 1]) with N = {count}, the images in inputs[0].data; got {Shape(shape)}.");
        CheckImageCount(count, options);
        return model.Memory.Reserve(count * model.TensorBytes, "inputs[0]");
    }

    /// <summary>One preprocessed image from its numbers, which it keeps (TorchSharp wraps the array without copying it).</summary>
    /// <param name="values">The image's numbers.</param>
    /// <param name="first">The index in <c>inputs[0].data</c> of its first number, for messages.</param>
    /// <param name="model">The served model.</param>
    /// <exception cref="BadRequestException">A number is not finite.</exception>
    public static Tensor Image(float[] values, long first, ServedModel model)
    {
        var notFinite = Array.FindIndex(values, v => !float.IsFinite(v));
        if (notFinite >= 0)
            throw new BadRequestException($"inputs[0].data[{first + notFinite}] is {values[notFinite].ToString(System.Globalization.CultureInfo.InvariantCulture)}, not a finite float32.");
        var crop = model.Classifier.Transforms.crop_size;
        return tensor(values, [3, crop, crop]);
    }

    /// <summary>
    /// The images <paramref name="add"/> makes, up to <paramref name="count"/>; when it fails, those made are disposed
    /// and <paramref name="reservation"/> (their memory) released, and the failure goes on.
    /// </summary>
    public static List<Tensor> Collect(int count, IDisposable reservation, Action<List<Tensor>> add)
    {
        var images = new List<Tensor>(count);
        try
        {
            add(images);
            return images;
        }
        catch
        {
            foreach (var image in images)
                image.Dispose();
            reservation.Dispose();
            throw;
        }
    }

    /// <summary>Each output asked for, for every image.</summary>
    /// <exception cref="BadRequestException">An image's logits are not finite (its inputs were far out of range).</exception>
    public static List<Output> Results(ServedModel model, IReadOnlyList<float[]> logits, IReadOnlyList<string> outputs, int topk)
    {
        var classes = model.Classifier.Categories.Count;
        var n = logits.Count;
        for (var i = 0; i < n; i++)
        {
            if (!logits[i].All(float.IsFinite))
                throw new BadRequestException($"inputs[0]: image {i} gives logits that are not finite numbers, which JSON cannot carry; its values are far outside the normalised pixels the model takes (mean 0, standard deviation 1 per channel).");
        }
        var top = outputs.Any(o => o.StartsWith("top_k", StringComparison.Ordinal)) ? logits.Select(l => model.Classifier.TopK(l, topk)).ToList() : null;
        IEnumerable<Prediction> Top() => top!.SelectMany(t => t);
        return [.. outputs.Select(name => name switch
        {
            "logits" => new Output(name, "FP32", [n, classes], [.. logits.SelectMany(l => l).Cast<object>()]),
            "probabilities" => new Output(name, "FP32", [n, classes], [.. logits.SelectMany(ImageClassifier.Probabilities).Cast<object>()]),
            "top_k_labels" => new Output(name, "BYTES", [n, topk], [.. Top().Select(p => (object)p.Label)]),
            "top_k_indices" => new Output(name, "INT64", [n, topk], [.. Top().Select(p => (object)p.Index)]),
            _ => new Output(name, "FP32", [n, topk], [.. Top().Select(p => (object)p.Probability)]),
        })];
    }

    static string Shape(long[] shape) => $"[{string.Join(", ", shape)}]";

    static void CheckImageCount(long count, ServerOptions options)
    {
        if (count > options.MaxImagesPerRequest)
            throw new BadRequestException($"inputs[0] holds {count} images; this server takes at most {options.MaxImagesPerRequest} per request (--max-images-per-request).");
    }
}

/// <summary>A request that does not follow the protocol; the message names the field (400).</summary>
sealed class BadRequestException(string message) : Exception(message);
