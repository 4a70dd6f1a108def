using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Inference.Serving;

/// <summary>
/// The Open Inference Protocol's REST binding: a request's JSON (<see cref="OpenInferenceRequest"/>) checked
/// (<see cref="OpenInferenceProtocol"/>) and turned into images, FP32 numbers read straight from the JSON or BYTES
/// base64 image files decoded and preprocessed as classify does; and the response's JSON.
/// </summary>
static class OpenInferenceJson
{
    /// <summary>An inference request ready for the model: its id, the images (preprocessed tensors, caller disposes), the outputs and k.</summary>
    public sealed record Request(string? Id, List<Tensor> Images, IReadOnlyList<string> Outputs, int TopK);

    /// <summary>
    /// Checks a request against the model and the server's limits, then makes its images. The declared shape is
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
        var topk = OpenInferenceProtocol.TopK(request.TopK, model, options);
        var outputs = OpenInferenceProtocol.Outputs(request.Outputs, model);
        var images = OpenInferenceProtocol.IsTensorInput(request.InputName, request.Datatype)
            ? Tensors(request, model, options, out tensors, cancelled)
            : EncodedImages(request, model, options, out tensors, cancelled);
        return new Request(request.Id, images, outputs, topk);
    }

    /// <summary>The response: each output asked for, for every image.</summary>
    public static ResponseBody Response(ServedModel model, Request request, IReadOnlyList<float[]> logits)
        => new(model.Name, "1", request.Id, OpenInferenceProtocol.Results(model, logits, request.Outputs, request.TopK));

    /// <summary>A response's JSON (snake case: <see cref="OpenInferenceProtocol.Json"/>).</summary>
    public sealed record ResponseBody(string ModelName, string ModelVersion, string? Id, List<OpenInferenceProtocol.Output> Outputs);

    static List<Tensor> Tensors(OpenInferenceRequest request, ServedModel model, ServerOptions options, out IDisposable reservation, CancellationToken cancelled)
    {
        (var count, reservation) = OpenInferenceProtocol.CheckTensorInput(request.Shape!, request.Count, model, options);
        return OpenInferenceProtocol.Collect(count, reservation, images =>
        {
            if (request.FirstNonNumber >= 0)
                throw new BadRequestException($"inputs[0].data[{request.FirstNonNumber}] is not a number.");
            var perImage = model.ImageElements;
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
                    images.Add(OpenInferenceProtocol.Image(values, index - perImage, model));
                    values = new float[perImage];
                    cancelled.ThrowIfCancellationRequested();
                }
            }
        });
    }

    static List<Tensor> EncodedImages(OpenInferenceRequest request, ServedModel model, ServerOptions options, out IDisposable reservation, CancellationToken cancelled)
    {
        reservation = OpenInferenceProtocol.CheckImageInput(request.Shape!, request.Count, model, options);
        return OpenInferenceProtocol.Collect((int)request.Count, reservation, images =>
        {
            if (request.FirstNonString >= 0)
                throw new BadRequestException($"inputs[0].data[{request.FirstNonString}] must be a base64 string of an image file.");
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
        });
    }
}
