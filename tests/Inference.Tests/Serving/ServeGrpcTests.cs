using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference.Serving;
using Inference.Serving.Grpc;
using TorchVisionModels.Transforms;

namespace Inference.Tests.Serving;

using static TestServers;

/// <summary>
/// KServe's v2 gRPC service, called with Grpc.Net.Client: PyTorch's top-5 and REST's answers to the number, the
/// same limits and API keys, and each failure as its gRPC code with REST's message.
/// </summary>
[Collection(TestServers.Collection)]
public sealed class ServeGrpcTests : IAsyncLifetime
{
    readonly TestServers servers = new();
    readonly List<GrpcChannel> channels = [];

    async Task<(HttpClient rest, GRPCInferenceService.GRPCInferenceServiceClient grpc, ServedModel model)> Start(ServerOptions options, TestServers.GateModel? gate = null)
    {
        var (app, model) = servers.Build(gate?.Classifier() ?? Resnet18(), options with { GrpcPort = 0 });
        await app.StartAsync();
        var rest = new HttpClient { BaseAddress = new Uri(Address(app)) };
        await WaitFor(async () => (await rest.GetAsync("/v2/health/ready")).IsSuccessStatusCode);
        var channel = GrpcChannel.ForAddress(GrpcAddress(app));
        channels.Add(channel);
        return (rest, new GRPCInferenceService.GRPCInferenceServiceClient(channel), model);
    }

    static ModelInferRequest ImageRequest(params byte[][] files)
    {
        var request = new ModelInferRequest { ModelName = "resnet18", Id = "photo" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "image", Datatype = "BYTES", Shape = { files.Length }, Contents = new() };
        input.Contents.BytesContents.Add(files.Select(ByteString.CopyFrom));
        request.Inputs.Add(input);
        return request;
    }

    static ModelInferRequest TensorRequest(long[] shape, float[] values)
    {
        var request = new ModelInferRequest { ModelName = "resnet18" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { shape } });
        request.RawInputContents.Add(ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())));
        return request;
    }

    [Fact]
    public async Task ModelInferGivesPyTorchsTop5AndRestsNumbers()
    {
        var (rest, grpc, _) = await Start(Options);
        Assert.True((await grpc.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await grpc.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.True((await grpc.ModelReadyAsync(new ModelReadyRequest { Name = "resnet18" })).Ready);
        var metadata = await grpc.ModelMetadataAsync(new ModelMetadataRequest { Name = "resnet18" });
        Assert.Equal([-1, 3, 224, 224], metadata.Inputs[0].Shape);
        Assert.Equal(["logits", "probabilities", "top_k_labels", "top_k_indices", "top_k_probabilities"], metadata.Outputs.Select(o => o.Name));

        foreach (var image in Fixtures.Json("classification.json").EnumerateObject())
        {
            var bytes = File.ReadAllBytes(Path.Combine(Fixtures.Samples, image.Name));
            var request = ImageRequest(bytes);
            request.Outputs.Add(new[] { "top_k_labels", "top_k_indices", "top_k_probabilities" }.Select(name => new ModelInferRequest.Types.InferRequestedOutputTensor { Name = name }));
            var response = await grpc.ModelInferAsync(request);

            var theirs = image.Value.EnumerateArray().ToList();
            Assert.Equal("photo", response.Id);
            Assert.Equal([1, 5], response.Outputs[1].Shape);
            Assert.Equal(theirs.Select(t => t.GetProperty("label").GetString()), response.Outputs[0].Contents.BytesContents.Select(b => b.ToStringUtf8()));
            Assert.Equal(theirs.Select(t => t.GetProperty("index").GetInt64()), response.Outputs[1].Contents.Int64Contents);
            using var plain = await rest.PostAsync("/predictions/resnet18", new ByteArrayContent(bytes));
            var top = JsonDocument.Parse(await plain.Content.ReadAsStringAsync()).RootElement.GetProperty("top").EnumerateArray();
            Assert.Equal(top.Select(p => p.GetProperty("probability").GetSingle()), response.Outputs[2].Contents.Fp32Contents);
        }
    }

    [Fact]
    public async Task RawFp32InputGivesTheImagesLogitsAsRestDoes()
    {
        var (rest, grpc, model) = await Start(Options);
        var path = Path.Combine(Fixtures.Samples, "cat.png");
        using var input = model.Classifier.Transforms.forward(ImageFile.Load(path));
        var values = input.data<float>().ToArray();

        var fromTensor = (await grpc.ModelInferAsync(TensorRequest([1, 3, 224, 224], values))).Outputs.Single();
        var fromImage = (await grpc.ModelInferAsync(ImageRequest(File.ReadAllBytes(path)))).Outputs.Single();
        Assert.Equal("logits", fromTensor.Name);
        Assert.Equal(1000, fromTensor.Contents.Fp32Contents.Count);
        Assert.Equal(fromImage.Contents.Fp32Contents, fromTensor.Contents.Fp32Contents);

        using var response = await rest.PostAsJsonAsync("/v2/models/resnet18/infer", new
        {
            inputs = new[] { new { name = "input", datatype = "FP32", shape = new[] { 1, 3, 224, 224 }, data = values } },
        });
        var restLogits = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle());
        Assert.Equal(restLogits, fromTensor.Contents.Fp32Contents);
    }

    [Fact]
    public async Task FailuresAreTheirGrpcCodesWithRestsMessages()
    {
        var (_, grpc, model) = await Start(Options with { MemoryBudgetBytes = 64 << 20 });
        async Task Check(StatusCode code, string message, ModelInferRequest request)
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await grpc.ModelInferAsync(request));
            Assert.Equal(code, e.StatusCode);
            Assert.Equal(message, e.Status.Detail);
        }

        await Check(StatusCode.InvalidArgument, "inputs[0] holds 13000 images; this server takes at most 8 per request (--max-images-per-request).",
            TensorRequest([13000, 3, 224, 224], [0]));
        await Check(StatusCode.InvalidArgument, "inputs[0].data has 2 numbers; shape [1, 3, 224, 224] needs 150528.", TensorRequest([1, 3, 224, 224], [0, 1]));
        var infinite = new float[3 * 224 * 224];
        infinite[7] = float.PositiveInfinity;
        await Check(StatusCode.InvalidArgument, "inputs[0].data[7] is Infinity, not a finite float32.", TensorRequest([1, 3, 224, 224], infinite));
        var topk = ImageRequest([1]);
        topk.Parameters.Add("top_k", new InferParameter { StringParam = "5" });
        await Check(StatusCode.InvalidArgument, "parameters.top_k must be a whole number (int64_param).", topk);
        await Check(StatusCode.InvalidArgument, "inputs[0].contents.bytes_contents[0] is not a JPEG, PNG, BMP, GIF or WebP image.", ImageRequest("not an image"u8.ToArray()));
        var unknown = ImageRequest([1]);
        unknown.ModelName = "resnet50";
        await Check(StatusCode.NotFound, "Model 'resnet50' is not served here; this server serves 'resnet18'.", unknown);
        using (model.Memory.Reserve(63 << 20, "other requests"))
            await Check(StatusCode.ResourceExhausted, "The server's memory budget for requests (64 MB) is taken by requests in flight. Retry later.",
                ImageRequest(File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png"))));
    }

    [Fact]
    public async Task ARequestPastItsTimeIsDeadlineExceeded()
    {
        using var gate = new GateModel();
        var (_, grpc, _) = await Start(Options with { RequestTimeout = TimeSpan.FromMilliseconds(300) }, gate);
        gate.Close();
        var e = await Assert.ThrowsAsync<RpcException>(async () => await grpc.ModelInferAsync(ImageRequest(File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png")))));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Equal("The request took longer than the server's limit of 0.3 s.", e.Status.Detail);
        gate.Open();
    }

    [Fact]
    public async Task ApiKeysGuardInferenceButNotHealth()
    {
        const string key = "grpc-key-0123456789abcdef";
        var (_, grpc, _) = await Start(Options with { ApiKeys = [key] });
        Assert.True((await grpc.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await grpc.ServerReadyAsync(new ServerReadyRequest())).Ready);
        var photo = ImageRequest(File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png")));
        var e = await Assert.ThrowsAsync<RpcException>(async () => await grpc.ModelInferAsync(photo));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        var response = await grpc.ModelInferAsync(photo, new Metadata { { "authorization", $"Bearer {key}" } });
        Assert.Equal(1000, response.Outputs.Single().Contents.Fp32Contents.Count);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var channel in channels)
            channel.Dispose();
        await servers.DisposeAsync();
    }
}
