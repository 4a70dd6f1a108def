using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Inference.Serving;
using Microsoft.Extensions.DependencyInjection;
using TorchVisionModels.Classification;
using TorchVisionModels.Transforms;

namespace Inference.Tests.Serving;

using static TestServers;

/// <summary>
/// <c>serve</c> on a loopback port: the v2 and plain endpoints give PyTorch's top-5 for the sample photos, requests
/// are batched, and every protection answers with its status and one JSON error. One class, so the tests (which
/// read the process-wide Prometheus metrics) run one after another.
/// </summary>
[Collection(TestServers.Collection)]
public sealed class ServeTests : IAsyncLifetime
{
    static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");

    static ServerOptions Options(int maxBatchSize = 8, int delayMs = 5, int maxQueue = 64, int timeoutMs = 30000, long maxRequestBytes = 20 << 20)
        => TestServers.Options with
        {
            MaxBatchSize = maxBatchSize, MaxBatchDelay = TimeSpan.FromMilliseconds(delayMs), MaxQueue = maxQueue,
            RequestTimeout = TimeSpan.FromMilliseconds(timeoutMs), MaxRequestBytes = maxRequestBytes,
        };

    readonly TestServers servers = new();

    Task<HttpClient> Start(ImageClassifier classifier, ServerOptions options) => servers.Start(classifier, options);

    static ImageClassifier Resnet18() => TestServers.Resnet18();

    [Fact]
    public async Task BothEndpointsGivePyTorchsTop5()
    {
        using var client = await Start(Resnet18(), Options());
        var expected = Fixtures.Json("classification.json");
        foreach (var image in expected.EnumerateObject())
        {
            var bytes = File.ReadAllBytes(Path.Combine(Fixtures.Samples, image.Name));
            var theirs = image.Value.EnumerateArray().ToList();

            using var plain = await client.PostAsync("/predictions/resnet18", new ByteArrayContent(bytes));
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
            var top = JsonDocument.Parse(await plain.Content.ReadAsStringAsync()).RootElement.GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(theirs.Select(t => t.GetProperty("label").GetString()), top.Select(p => p.GetProperty("label").GetString()));
            // As classify's bound (ClassifyCommandTests): measured at most 2.2e-7.
            foreach (var (t, p) in theirs.Zip(top))
                Assert.InRange(p.GetProperty("probability").GetDouble() - t.GetProperty("probability").GetDouble(), -2e-5, 2e-5);

            var v2 = await Infer(client, new JsonObject
            {
                ["id"] = image.Name,
                ["inputs"] = new JsonArray(new JsonObject { ["name"] = "image", ["datatype"] = "BYTES", ["shape"] = new JsonArray(1), ["data"] = new JsonArray(Convert.ToBase64String(bytes)) }),
                ["outputs"] = new JsonArray(new JsonObject { ["name"] = "top_k_indices" }, new JsonObject { ["name"] = "top_k_probabilities" }),
            });
            Assert.Equal(image.Name, v2.GetProperty("id").GetString());
            var outputs = v2.GetProperty("outputs").EnumerateArray().ToList();
            Assert.Equal([1, 5], outputs[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
            Assert.Equal(theirs.Select(t => t.GetProperty("index").GetInt64()), outputs[0].GetProperty("data").EnumerateArray().Select(i => i.GetInt64()));
            Assert.Equal(top.Select(p => p.GetProperty("probability").GetSingle()), outputs[1].GetProperty("data").EnumerateArray().Select(p => p.GetSingle()));
        }
    }

    /// <summary>The probabilities output is PyTorch's softmax: its entries at PyTorch's top-5 classes hold PyTorch's probabilities.</summary>
    [Fact]
    public async Task ProbabilitiesArePyTorchs()
    {
        using var client = await Start(Resnet18(), Options());
        foreach (var image in Fixtures.Json("classification.json").EnumerateObject())
        {
            var response = await Infer(client, new JsonObject
            {
                ["inputs"] = new JsonArray(new JsonObject
                {
                    ["name"] = "image", ["datatype"] = "BYTES", ["shape"] = new JsonArray(1),
                    ["data"] = new JsonArray(Convert.ToBase64String(File.ReadAllBytes(Path.Combine(Fixtures.Samples, image.Name)))),
                }),
                ["outputs"] = new JsonArray(new JsonObject { ["name"] = "probabilities" }),
            });
            var output = response.GetProperty("outputs")[0];
            Assert.Equal([1, 1000], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
            var probabilities = output.GetProperty("data").EnumerateArray().Select(p => p.GetDouble()).ToList();
            // As classify's bound (ClassifyCommandTests): measured at most 2.2e-7.
            foreach (var theirs in image.Value.EnumerateArray())
                Assert.InRange(probabilities[theirs.GetProperty("index").GetInt32()] - theirs.GetProperty("probability").GetDouble(), -2e-5, 2e-5);
        }
    }

    [Fact]
    public async Task APreprocessedTensorGivesTheSameLogitsAsTheImage()
    {
        using var classifier = Resnet18();
        using var client = await Start(Resnet18(), Options());
        var path = Path.Combine(Fixtures.Samples, "cat.png");
        using var input = classifier.Transforms.forward(ImageFile.Load(path));
        var fromTensor = await Infer(client, new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "input", ["datatype"] = "FP32", ["shape"] = new JsonArray(1, 3, 224, 224),
                ["data"] = new JsonArray([.. input.data<float>().ToArray().Select(v => (JsonNode)v)]),
            }),
        });
        var fromImage = await Infer(client, new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject { ["name"] = "image", ["datatype"] = "BYTES", ["shape"] = new JsonArray(1), ["data"] = new JsonArray(Convert.ToBase64String(File.ReadAllBytes(path))) }),
        });
        float[] Logits(JsonElement response) => [.. response.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle())];
        Assert.Equal(1000, Logits(fromTensor).Length);
        Assert.Equal(Logits(fromImage), Logits(fromTensor));
    }

    [Fact]
    public async Task ConcurrentRequestsAreBatched()
    {
        using var client = await Start(Resnet18(), Options(maxBatchSize: 8, delayMs: 300));
        var (sum, count) = await BatchSizes(client);
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures.Samples, "coffee.png"));
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.PostAsync("/predictions/resnet18", new ByteArrayContent(bytes))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var (sumAfter, countAfter) = await BatchSizes(client);
        Assert.Equal(8, sumAfter - sum);
        Assert.True(countAfter - count < 8, $"8 concurrent requests ran in {countAfter - count} batches");
    }

    [Fact]
    public async Task AFullQueueAnswers503WithRetryAfter()
    {
        using var gate = new GateModel();
        using var client = await Start(gate.Classifier(), Options(maxBatchSize: 1, delayMs: 0, maxQueue: 2));
        gate.Close();
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png"));
        Task<HttpResponseMessage> Post() => client.PostAsync("/predictions/resnet18", new ByteArrayContent(bytes));

        var running = Post();
        Assert.True(gate.Entered.Wait(TimeSpan.FromSeconds(30)), "the first request never reached the model");
        var queued = new[] { Post(), Post() };
        await WaitFor(async () => await Metric(client, "torchvision_resnet_queue_depth") == 2);
        using var refused = await Post();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
        Assert.Equal("The server is at capacity: its queue of images is full. Retry later.", await Error(refused));

        gate.Open();
        Assert.All(await Task.WhenAll(queued.Prepend(running)), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }

    [Fact]
    public async Task ARequestPastItsTimeAnswers504()
    {
        using var gate = new GateModel();
        using var client = await Start(gate.Classifier(), Options(timeoutMs: 500));
        gate.Close();
        using var response = await client.PostAsync("/predictions/resnet18", new ByteArrayContent(File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png"))));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("The request took longer than the server's limit of 0.5 s.", await Error(response));
        gate.Open();
    }

    [Fact]
    public async Task ClientErrorsGetTheirStatusAndOneMessage()
    {
        using var client = await Start(Resnet18(), Options(maxRequestBytes: 1 << 20));
        async Task Check(HttpResponseMessage response, HttpStatusCode status, string message)
        {
            using (response)
            {
                Assert.Equal(status, response.StatusCode);
                Assert.Equal(message, await Error(response));
            }
        }

        // As curl does for large bodies, the client waits for 100-continue: refused at once, the body is never sent
        // (sent anyway, the server's 413 and close can break the client's pipe mid-upload).
        using var tooLarge = new HttpRequestMessage(HttpMethod.Post, "/predictions/resnet18") { Content = new ByteArrayContent(new byte[2 << 20]) };
        tooLarge.Headers.ExpectContinue = true;
        await Check(await client.SendAsync(tooLarge), HttpStatusCode.RequestEntityTooLarge,
            "The request body is larger than the server's limit of 1048576 bytes.");
        await Check(await client.PostAsync("/predictions/resnet18", new ByteArrayContent("not an image"u8.ToArray())), HttpStatusCode.BadRequest,
            "the uploaded image is not a JPEG, PNG, BMP, GIF or WebP image.");
        await Check(await client.PostAsync("/predictions/resnet50", new ByteArrayContent([1])), HttpStatusCode.NotFound,
            "Model 'resnet50' is not served here; this server serves 'resnet18'.");
        await Check(await client.GetAsync("/v2/models/resnet50/ready"), HttpStatusCode.NotFound,
            "Model 'resnet50' is not served here; this server serves 'resnet18'.");
        await Check(await client.PostAsync("/predictions/resnet18?topk=0", new ByteArrayContent([1])), HttpStatusCode.BadRequest,
            "topk must be 1 to 1000, got '0'.");
        foreach (var (body, message) in new[]
        {
            ("{\"inputs\": [", "The request body is not JSON: "),
            ("{}", "inputs must be an array of one input, 'input' (FP32) or 'image' (BYTES)."),
            ("{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,3,2],\"data\":[1]}]}", "inputs[0].shape must be [N, 3, 224, 224], got [1, 3, 2]."),
            ("{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"%%\"]}]}", "inputs[0].data[0] is not base64."),
            ("{\"inputs\":[{\"name\":\"image\",\"datatype\":\"INT8\",\"shape\":[1],\"data\":[1]}]}", "inputs[0] must be 'input' with datatype FP32 or 'image' with datatype BYTES, got 'image' with INT8."),
            ("{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"AA==\"]}],\"outputs\":[{\"name\":\"boxes\"}]}",
                "outputs: 'boxes' is not an output of resnet18 (logits, probabilities, top_k_labels, top_k_indices, top_k_probabilities)."),
        })
        {
            using var response = await client.PostAsync("/v2/models/resnet18/infer", new StringContent(body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.StartsWith(message, await Error(response));
        }
        var errors = await client.GetStringAsync("/metrics");
        Assert.Contains("torchvision_resnet_errors_total{kind=\"payload_too_large\"}", errors);
    }

    /// <summary>
    /// SIGTERM while requests are in progress (their bodies half sent, so they are held there): the server says it is
    /// not ready from then on, finishes every request, refuses new connections once its listener closes, and exits 0.
    /// </summary>
    [Fact]
    public async Task SigtermDrainsWhatWasAccepted()
    {
        using var child = ChildProcess.Start(Serve, new Dictionary<string, string>(), Weights);
        var line = await ReadLineStartingWith(child, "serving ");
        var address = line[(line.LastIndexOf(" on ", StringComparison.Ordinal) + 4)..].Trim();
        using var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(1) };
        await WaitFor(async () => (await client.GetAsync("/v2/health/ready")).StatusCode == HttpStatusCode.OK);
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png"));
        var rest = new TaskCompletionSource();
        var requests = Enumerable.Range(0, 4).Select(_ => client.PostAsync("/predictions/resnet18", new HalfThenRest(bytes, rest.Task))).ToList();
        await WaitFor(async () => await Metric(client, "http_requests_in_progress") >= 4);
        using (var kill = Process.Start("kill", ["-TERM", child.Id.ToString()]))
            await kill.WaitForExitAsync();
        await WaitFor(async () =>
        {
            using var probe = new HttpClient();
            try
            {
                // Draining: not ready (a kubelet takes the pod out of the service), until the listener closes.
                using var ready = await probe.GetAsync(new Uri(new Uri(address), "/v2/health/ready"));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                return false;
            }
            catch (HttpRequestException)
            {
                return true; // no longer accepting
            }
        });
        rest.SetResult();
        Assert.All(await Task.WhenAll(requests), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.True(child.WaitForExit(60_000), "the server did not exit after SIGTERM");
        Assert.Equal(0, child.ExitCode);
    }

    static void Serve(string[] arguments)
    {
        var exitCode = Inference.Cli.Run(["serve", "--model", "resnet18", "--weights", arguments[0], "--host", "127.0.0.1", "--port", "0"]);
        if (exitCode != 0)
            throw new InvalidOperationException($"serve exited with {exitCode}");
    }

    internal static async Task<string> ReadLineStartingWith(Process process, string prefix)
    {
        while (await process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
                return line;
        }
        throw new InvalidOperationException($"the server ended without printing '{prefix}...': {await process.StandardError.ReadToEndAsync()}");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => servers.DisposeAsync().AsTask();
}
