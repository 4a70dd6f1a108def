using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Inference.Serving.Grpc;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Logging;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace Inference.Serving;

/// <summary>
/// KServe's <c>GRPCInferenceService</c> on the gRPC port, sharing everything with REST: the model, its batcher, the
/// protocol's checks (<see cref="OpenInferenceProtocol"/>), the memory budget, the time limit and API keys. Errors
/// map to gRPC's codes: INVALID_ARGUMENT naming the field, NOT_FOUND, RESOURCE_EXHAUSTED (queue, budget or size),
/// DEADLINE_EXCEEDED, and INTERNAL with an id that is in the log.
/// </summary>
sealed class GrpcInferenceService(ServedModel model, ServerOptions options, Readiness readiness, ILogger<GrpcInferenceService> log)
    : GRPCInferenceService.GRPCInferenceServiceBase
{
    [AllowAnonymous]
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context)
        => Task.FromResult(new ServerLiveResponse { Live = true });

    [AllowAnonymous]
    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context)
        => Task.FromResult(new ServerReadyResponse { Ready = readiness.Ready });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        Served(request.Name);
        return Task.FromResult(new ModelReadyResponse { Ready = readiness.Ready });
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
        => Task.FromResult(new ServerMetadataResponse { Name = "torchvision-resnet", Version = typeof(GrpcInferenceService).Assembly.GetName().Version?.ToString() ?? "" });

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        Served(request.Name);
        var metadata = OpenInferenceProtocol.Metadata(model);
        static ModelMetadataResponse.Types.TensorMetadata Tensor(OpenInferenceProtocol.TensorMetadata t)
            => new() { Name = t.Name, Datatype = t.Datatype, Shape = { t.Shape } };
        return Task.FromResult(new ModelMetadataResponse
        {
            Name = metadata.Name,
            Versions = { metadata.Versions },
            Platform = metadata.Platform,
            Inputs = { metadata.Inputs.Select(Tensor) },
            Outputs = { metadata.Outputs.Select(Tensor) },
        });
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        Served(request.ModelName);
        using var deadline = new RequestDeadline(options.RequestTimeout, context.CancellationToken);
        using var span = ServerTracing.Spans.StartActivity("infer");
        try
        {
            // The message is in memory already (gRPC reads it whole, up to --max-request-mb): it counts from now.
            var body = model.Memory.Reserve(request.CalculateSize(), "The request message");
            var arrival = model.Arriving();
            return await deadline.Run(async cancelled =>
            {
                using (body)
                using (arrival)
                    return await Infer(request, arrival, cancelled);
            });
        }
        catch (Exception e) when (e is BadRequestException or ImageFileException)
        {
            throw Failed(StatusCode.InvalidArgument, e is BadRequestException ? "bad_request" : "bad_image", e.Message);
        }
        catch (Exception e) when (e is ServerBusyException or RequestTooLargeException)
        {
            throw Failed(StatusCode.ResourceExhausted, (e as ServerBusyException)?.Kind ?? "payload_too_large", e.Message);
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            throw Failed(StatusCode.DeadlineExceeded, "timeout", $"The request took longer than the server's limit of {options.RequestTimeout.TotalSeconds:0.###} s.");
        }
        catch (Exception e) when (e is not RpcException && !context.CancellationToken.IsCancellationRequested)
        {
            var id = Guid.NewGuid().ToString("N")[..12];
            log.LogError(e, "Internal error {Id} in ModelInfer", id);
            throw Failed(StatusCode.Internal, "internal", $"Internal error {id}: the server's log has its details.");
        }
    }

    async Task<ModelInferResponse> Infer(ModelInferRequest request, IDisposable arrival, CancellationToken cancelled)
    {
        var topk = OpenInferenceProtocol.TopK(request.Parameters.TryGetValue("top_k", out var k)
            ? k.ParameterChoiceCase == InferParameter.ParameterChoiceOneofCase.Int64Param ? k.Int64Param
                : throw new BadRequestException("parameters.top_k must be a whole number (int64_param).")
            : null, model, options);
        var outputs = OpenInferenceProtocol.Outputs([.. request.Outputs.Select(o => o.Name)], model);
        if (request.Inputs.Count != 1)
            throw new BadRequestException("inputs must be an array of one input, 'input' (FP32) or 'image' (BYTES).");
        if (request.RawInputContents.Count > 1)
            throw new BadRequestException("raw_input_contents must hold one entry, for inputs[0].");
        var input = request.Inputs[0];
        var raw = request.RawInputContents.Count == 1 ? request.RawInputContents[0] : null;
        var shape = input.Shape.ToArray();
        var (images, tensors) = OpenInferenceProtocol.IsTensorInput(input.Name, input.Datatype)
            ? Tensors(shape, raw is null ? input.Contents?.Fp32Contents.ToArray() ?? [] : Floats(raw), cancelled)
            : EncodedImages(shape, raw is null ? [.. input.Contents?.BytesContents ?? []] : Strings(raw), cancelled);
        using (tensors)
        {
            List<Task<float[]>> answers;
            using (arrival)
                answers = model.LogitsAsync(images, cancelled);
            var results = OpenInferenceProtocol.Results(model, await Task.WhenAll(answers), outputs, topk);
            var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = "1", Id = request.Id };
            response.Outputs.Add(results.Select(Output));
            return response;
        }
    }

    (List<Tensor>, IDisposable) Tensors(long[] shape, float[] values, CancellationToken cancelled)
    {
        var (count, reservation) = OpenInferenceProtocol.CheckTensorInput(shape, values.Length, model, options);
        var perImage = model.ImageElements;
        return (OpenInferenceProtocol.Collect(count, reservation, images =>
        {
            for (var i = 0; i < count; i++)
            {
                images.Add(OpenInferenceProtocol.Image(values[(i * perImage)..((i + 1) * perImage)], (long)i * perImage, model));
                cancelled.ThrowIfCancellationRequested();
            }
        }), reservation);
    }

    (List<Tensor>, IDisposable) EncodedImages(long[] shape, List<ByteString> files, CancellationToken cancelled)
    {
        var reservation = OpenInferenceProtocol.CheckImageInput(shape, files.Count, model, options);
        return (OpenInferenceProtocol.Collect(files.Count, reservation, images =>
        {
            foreach (var file in files)
            {
                images.Add(model.Preprocess(Stream(file), $"inputs[0].contents.bytes_contents[{images.Count}]"));
                cancelled.ThrowIfCancellationRequested();
            }
        }), reservation);
    }

    /// <summary>A read-only stream over the bytes, not a copy of them.</summary>
    static MemoryStream Stream(ByteString bytes)
        => MemoryMarshal.TryGetArray(bytes.Memory, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToByteArray(), writable: false);

    /// <summary>FP32 raw contents: little-endian floats.</summary>
    static float[] Floats(ByteString raw)
    {
        if (raw.Length % sizeof(float) != 0)
            throw new BadRequestException($"raw_input_contents[0] has {raw.Length} bytes, not a whole number of FP32 values.");
        var values = MemoryMarshal.Cast<byte, float>(raw.Span).ToArray();
        if (!BitConverter.IsLittleEndian)
            BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(values.AsSpan()), MemoryMarshal.Cast<float, int>(values.AsSpan()));
        return values;
    }

    /// <summary>BYTES raw contents: each element a 4-byte little-endian length and its bytes.</summary>
    static List<ByteString> Strings(ByteString raw)
    {
        var elements = new List<ByteString>();
        var rest = raw.Memory;
        while (!rest.IsEmpty)
        {
            var length = rest.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(rest.Span) : uint.MaxValue;
            if (length > rest.Length - 4)
                throw new BadRequestException($"raw_input_contents[0]: element {elements.Count} runs past the end of the contents.");
            elements.Add(UnsafeByteOperations.UnsafeWrap(rest.Slice(4, (int)length)));
            rest = rest[(4 + (int)length)..];
        }
        return elements;
    }

    static ModelInferResponse.Types.InferOutputTensor Output(OpenInferenceProtocol.Output output)
    {
        var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.Datatype, Shape = { output.Shape }, Contents = new() };
        switch (output.Datatype)
        {
            case "FP32":
                tensor.Contents.Fp32Contents.Add(output.Data.Cast<float>());
                break;
            case "INT64":
                tensor.Contents.Int64Contents.Add(output.Data.Cast<long>());
                break;
            default:
                tensor.Contents.BytesContents.Add(output.Data.Select(label => ByteString.CopyFromUtf8((string)label)));
                break;
        }
        return tensor;
    }

    /// <summary>Throws NOT_FOUND unless <paramref name="name"/> is the served model.</summary>
    void Served(string name)
    {
        if (name != model.Name)
            throw Failed(StatusCode.NotFound, "not_found", $"Model '{name}' is not served here; this server serves '{model.Name}'.");
    }

    static RpcException Failed(StatusCode code, string kind, string message)
    {
        ServerMetrics.Errors.WithLabels(kind).Inc();
        return new RpcException(new Status(code, message));
    }
}
