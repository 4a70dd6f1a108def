using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
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

    /// <summary>An inference request ready for the model: its id, the images (preprocessed tensors, caller disposes), the outputs and k.</summary>
    public sealed record Request(string? Id, List<Tensor> Images, IReadOnlyList<string> Outputs, int TopK);

    /// <summary>
    /// Checks a request against the model and the server's limits, then makes its images: the FP32 tensor read
    /// straight from the JSON, or each BYTES image decoded and preprocessed as classify does. The declared shape is
    /// checked against the data sent and the per-request image cap before anything is allocated, and every image's
    /// memory is reserved in the budget first.
    /// </summary>
    /// <param name="body">The request's JSON.</param>
    /// <param name="model">The served model.</param>
    /// <param name="options">The server's limits and default k.</param>
    /// <param name="tensors">Receives the reservation of the request's preprocessed images, which the caller holds until they are answered.</param>
    /// <param name="cancelled">The request's deadline, checked between images.</param>
    /// <exception cref="BadRequestException">The JSON does not follow the protocol or exceeds a limit; the message names the field.</exception>
    public static Request Parse(ReadOnlyMemory<byte> body, ServedModel model, ServerOptions options, out IDisposable tensors, CancellationToken cancelled)
    {
        var request = OpenInferenceRequest.Parse(body);
        var classes = model.Classifier.Categories.Count;
        var topk = request.TopK ?? options.TopK;
        if (topk < 1 || topk > classes)
            throw new BadRequestException($"parameters.top_k must be 1 to {classes}, got {topk}.");
        var outputs = request.Outputs ?? ["logits"];
        if (outputs.FirstOrDefault(o => !Outputs.Contains(o)) is { } unknown)
            throw new BadRequestException($"outputs: '{unknown}' is not an output of {model.Name} ({string.Join(", ", Outputs)}).");
        var images = (request.InputName, request.Datatype) switch
        {
            (TensorInput, "FP32") => Tensors(request, model, options, out tensors, cancelled),
            (ImageInput, "BYTES") => EncodedImages(request, model, options, out tensors, cancelled),
            _ => throw new BadRequestException($"inputs[0] must be '{TensorInput}' with datatype FP32 or '{ImageInput}' with datatype BYTES, got '{request.InputName}' with {request.Datatype}."),
        };
        return new Request(request.Id, images, outputs, topk);
    }

    static string Shape(long[] shape) => $"[{string.Join(", ", shape)}]";

    static void CheckImageCount(long count, ServerOptions options)
    {
        if (count > options.MaxImagesPerRequest)
            throw new BadRequestException($"inputs[0] holds {count} images; this server takes at most {options.MaxImagesPerRequest} per request (--max-images-per-request).");
    }

    static List<Tensor> Tensors(OpenInferenceRequest request, ServedModel model, ServerOptions options, out IDisposable reservation, CancellationToken cancelled)
    {
        var crop = model.Classifier.Transforms.crop_size;
        var shape = request.Shape!;
        if (shape.Length != 4 || shape[0] < 1 || shape[1] != 3 || shape[2] != crop || shape[3] != crop)
            throw new BadRequestException($"inputs[0].shape must be [N, 3, {crop}, {crop}], got {Shape(shape)}.");
        CheckImageCount(shape[0], options);
        var perImage = 3 * crop * crop;
        if (request.Count != shape[0] * perImage)
            throw new BadRequestException($"inputs[0].data has {request.Count} numbers; shape {Shape(shape)} needs {shape[0] * perImage}.");
        if (request.FirstNonNumber >= 0)
            throw new BadRequestException($"inputs[0].data[{request.FirstNonNumber}] is not a number.");

        reservation = model.Memory.Reserve(shape[0] * perImage * sizeof(float), "inputs[0]");
        var images = new List<Tensor>((int)shape[0]);
        try
        {
            var reader = new Utf8JsonReader(request.Data.Span);
            var values = new float[perImage];
            long index = 0;
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.Number)
                    continue;
                var value = reader.TryGetDouble(out var number) ? (float)number : float.NaN;
                if (!float.IsFinite(value))
                    throw new BadRequestException($"inputs[0].data[{index}] is {Encoding.UTF8.GetString(reader.ValueSpan)}, not a finite float32.");
                values[index++ % perImage] = value;
                if (index % perImage == 0)
                {
                    // TorchSharp wraps the array without copying it: each image gets its own.
                    images.Add(tensor(values, [3, crop, crop]));
                    values = new float[perImage];
                    cancelled.ThrowIfCancellationRequested();
                }
            }
            return images;
        }
        catch
        {
            Dispose(images);
            reservation.Dispose();
            throw;
        }
    }

    static List<Tensor> EncodedImages(OpenInferenceRequest request, ServedModel model, ServerOptions options, out IDisposable reservation, CancellationToken cancelled)
    {
        var shape = request.Shape!;
        if (shape.Length is < 1 or > 2 || shape[0] != request.Count || shape.Skip(1).Any(d => d != 1))
            throw new BadRequestException($"inputs[0].shape must be [N] (or [N, 1]) with N = {request.Count}, the images in inputs[0].data; got {Shape(shape)}.");
        CheckImageCount(request.Count, options);
        if (request.FirstNonString >= 0)
            throw new BadRequestException($"inputs[0].data[{request.FirstNonString}] must be a base64 string of an image file.");

        reservation = model.Memory.Reserve(request.Count * model.TensorBytes, "inputs[0]");
        var images = new List<Tensor>((int)request.Count);
        try
        {
            var reader = new Utf8JsonReader(request.Data.Span);
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.String)
                    continue;
                var name = $"inputs[0].data[{images.Count}]";
                var length = reader.ValueSpan.Length;
                using var encoded = model.Memory.Reserve(length, name);
                var buffer = ArrayPool<byte>.Shared.Rent(length);
                try
                {
                    // Unescaped into the buffer, then decoded where it lies: one buffer per image, from the pool.
                    var written = reader.CopyString(buffer);
                    if (Base64.DecodeFromUtf8InPlace(buffer.AsSpan(0, written), out var decoded) != OperationStatus.Done)
                        throw new BadRequestException($"{name} is not base64.");
                    images.Add(model.Preprocess(new MemoryStream(buffer, 0, decoded, writable: false), name));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                cancelled.ThrowIfCancellationRequested();
            }
            return images;
        }
        catch
        {
            Dispose(images);
            reservation.Dispose();
            throw;
        }
    }

    static void Dispose(List<Tensor> images)
    {
        foreach (var image in images)
            image.Dispose();
    }

    /// <summary>The response: each output asked for, for every image.</summary>
    public static object Response(ServedModel model, Request request, IReadOnlyList<float[]> logits)
    {
        var classes = model.Classifier.Categories.Count;
        var n = logits.Count;
        for (var i = 0; i < n; i++)
        {
            if (!logits[i].All(float.IsFinite))
                throw new BadRequestException($"inputs[0]: image {i} gives logits that are not finite numbers, which JSON cannot carry; its values are far outside the normalised pixels the model takes (mean 0, standard deviation 1 per channel).");
        }
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
