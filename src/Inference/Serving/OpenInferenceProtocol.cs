using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Inference.Serving;

/// <summary>
/// KServe's Open Inference Protocol (v2) over REST, for one model: its metadata, and inference requests that carry
/// either preprocessed images (FP32, [N, 3, H, W]) or encoded images (BYTES, base64, [N]). The answer holds the
/// outputs asked for: <c>logits</c> (FP32 [N, classes], the default), <c>probabilities</c> (FP32 [N, classes]) and
/// the top k (<c>top_k_labels</c> BYTES, <c>top_k_indices</c> INT64, <c>top_k_probabilities</c> FP32, each [N, k];
/// k from the request's <c>top_k</c> parameter, else the server's).
/// </summary>
static class OpenInferenceProtocol
{
    public const string TensorInput = "input";
    public const string ImageInput = "image";
    static readonly string[] Outputs = ["logits", "probabilities", "top_k_labels", "top_k_indices", "top_k_probabilities"];

    /// <summary>GET /v2/models/{name}: the model's inputs and outputs.</summary>
    public static object Metadata(ServedModel model)
    {
        var crop = model.Classifier.Transforms.crop_size;
        var classes = model.Classifier.Categories.Count;
        return new
        {
            name = model.Name,
            versions = new[] { "1" },
            platform = "torchvision-resnet",
            inputs = new object[]
            {
                new { name = TensorInput, datatype = "FP32", shape = new long[] { -1, 3, crop, crop } },
                new { name = ImageInput, datatype = "BYTES", shape = new long[] { -1 } },
            },
            outputs = new object[]
            {
                new { name = "logits", datatype = "FP32", shape = new long[] { -1, classes } },
                new { name = "probabilities", datatype = "FP32", shape = new long[] { -1, classes } },
                new { name = "top_k_labels", datatype = "BYTES", shape = new long[] { -1, -1 } },
                new { name = "top_k_indices", datatype = "INT64", shape = new long[] { -1, -1 } },
                new { name = "top_k_probabilities", datatype = "FP32", shape = new long[] { -1, -1 } },
            },
        };
    }

    /// <summary>A parsed inference request: its id, the images (preprocessed tensors, caller disposes), the outputs and k.</summary>
    public sealed record Request(string? Id, List<Tensor> Images, IReadOnlyList<string> Outputs, int TopK);

    /// <summary>Parses and checks an inference request; images are decoded and preprocessed as classify does.</summary>
    /// <exception cref="BadRequestException">The JSON does not follow the protocol; the message names the field.</exception>
    public static Request Parse(JsonNode? body, ServedModel model, int defaultTopK)
    {
        if (body is not JsonObject request)
            throw new BadRequestException("The request body must be a JSON object with \"inputs\".");
        var id = request["id"] is JsonValue idValue && idValue.TryGetValue<string>(out var text) ? text : null;
        var topk = request["parameters"]?["top_k"] is JsonValue k ? Integer(k, "parameters.top_k") : defaultTopK;
        if (topk < 1 || topk > model.Classifier.Categories.Count)
            throw new BadRequestException($"parameters.top_k must be 1 to {model.Classifier.Categories.Count}, got {topk}.");
        var outputs = request["outputs"] is JsonArray requested
            ? requested.Select((o, i) => o?["name"]?.GetValue<string>() ?? throw new BadRequestException($"outputs[{i}].name is missing.")).ToList()
            : ["logits"];
        if (outputs.FirstOrDefault(o => !Outputs.Contains(o)) is { } unknown)
            throw new BadRequestException($"outputs: '{unknown}' is not an output of {model.Name} ({string.Join(", ", Outputs)}).");
        if (request["inputs"] is not JsonArray { Count: 1 } inputs || inputs[0] is not JsonObject input)
            throw new BadRequestException($"inputs must be an array of one input, '{TensorInput}' (FP32) or '{ImageInput}' (BYTES).");

        var images = new List<Tensor>();
        try
        {
            var name = input["name"]?.GetValue<string>();
            var datatype = input["datatype"]?.GetValue<string>();
            var shape = input["shape"] is JsonArray s ? s.Select((d, i) => (long)Integer(d, $"inputs[0].shape[{i}]")).ToArray()
                : throw new BadRequestException("inputs[0].shape is missing.");
            var data = input["data"] as JsonArray ?? throw new BadRequestException("inputs[0].data must be an array.");
            if ((name, datatype) == (TensorInput, "FP32"))
                images.AddRange(Tensors(shape, data, model));
            else if ((name, datatype) == (ImageInput, "BYTES"))
                images.AddRange(EncodedImages(shape, data, model));
            else
                throw new BadRequestException($"inputs[0] must be '{TensorInput}' with datatype FP32 or '{ImageInput}' with datatype BYTES, got '{name}' with {datatype}.");
            return new Request(id, images, outputs, topk);
        }
        catch
        {
            foreach (var image in images)
                image.Dispose();
            throw;
        }
    }

    static Tensor[] Tensors(long[] shape, JsonArray data, ServedModel model)
    {
        var crop = model.Classifier.Transforms.crop_size;
        if (shape.Length != 4 || shape[0] < 1 || shape[1] != 3 || shape[2] != crop || shape[3] != crop)
            throw new BadRequestException($"inputs[0].shape must be [N, 3, {crop}, {crop}], got [{string.Join(", ", shape)}].");
        var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
        var flat = Flatten(data).GetEnumerator();
        for (var i = 0; i < values.Length; i++)
        {
            if (!flat.MoveNext())
                throw new BadRequestException($"inputs[0].data has {i} numbers; shape [{string.Join(", ", shape)}] needs {values.Length}.");
            values[i] = flat.Current is JsonValue v && v.TryGetValue<double>(out var number) ? (float)number
                : throw new BadRequestException($"inputs[0].data[{i}] is not a number.");
        }
        if (flat.MoveNext())
            throw new BadRequestException($"inputs[0].data has more than the {values.Length} numbers shape [{string.Join(", ", shape)}] needs.");
        using var batch = tensor(values, shape);
        return batch.unbind(0);
    }

    static List<Tensor> EncodedImages(long[] shape, JsonArray data, ServedModel model)
    {
        if (shape.Length is < 1 or > 2 || shape[0] != data.Count || shape.Skip(1).Any(d => d != 1))
            throw new BadRequestException($"inputs[0].shape must be [N] (or [N, 1]) with N = {data.Count}, the images in inputs[0].data; got [{string.Join(", ", shape)}].");
        var images = new List<Tensor>();
        for (var i = 0; i < data.Count; i++)
        {
            var encoded = data[i] is JsonValue v && v.TryGetValue<string>(out var base64) ? base64
                : throw new BadRequestException($"inputs[0].data[{i}] must be a base64 string of an image file.");
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(encoded);
            }
            catch (FormatException)
            {
                throw new BadRequestException($"inputs[0].data[{i}] is not base64.");
            }
            images.Add(model.Preprocess(new MemoryStream(bytes, writable: false), $"inputs[0].data[{i}]"));
        }
        return images;
    }

    static IEnumerable<JsonNode?> Flatten(JsonArray data)
        => data.SelectMany(item => item is JsonArray nested ? Flatten(nested) : [item]);

    static int Integer(JsonNode? node, string field)
        => node is JsonValue v && v.TryGetValue<long>(out var n) && n is >= int.MinValue and <= int.MaxValue ? (int)n
            : throw new BadRequestException($"{field} must be a whole number.");

    /// <summary>The response: each output asked for, for every image.</summary>
    public static object Response(ServedModel model, Request request, IReadOnlyList<float[]> logits)
    {
        var classes = model.Classifier.Categories.Count;
        var n = logits.Count;
        var top = request.Outputs.Any(o => o.StartsWith("top_k", StringComparison.Ordinal))
            ? logits.Select(l => model.Classifier.TopK(l, request.TopK)).ToList()
            : null;
        object Output(string name) => name switch
        {
            "logits" => new { name, datatype = "FP32", shape = new long[] { n, classes }, data = logits.SelectMany(l => l) },
            "probabilities" => new { name, datatype = "FP32", shape = new long[] { n, classes }, data = logits.SelectMany(Softmax) },
            "top_k_labels" => new { name, datatype = "BYTES", shape = new long[] { n, request.TopK }, data = top!.SelectMany(t => t.Select(p => (object)p.Label)) },
            "top_k_indices" => new { name, datatype = "INT64", shape = new long[] { n, request.TopK }, data = top!.SelectMany(t => t.Select(p => (object)p.Index)) },
            _ => new { name, datatype = "FP32", shape = new long[] { n, request.TopK }, data = top!.SelectMany(t => t.Select(p => (object)p.Probability)) },
        };
        return new { model_name = model.Name, model_version = "1", id = request.Id, outputs = request.Outputs.Select(Output) };
    }

    static float[] Softmax(float[] logits)
    {
        using var scope = NewDisposeScope();
        return nn.functional.softmax(tensor(logits), dim: 0).data<float>().ToArray();
    }
}

/// <summary>A request that does not follow the protocol; the message names the field (400).</summary>
sealed class BadRequestException(string message) : Exception(message);
