using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Inference.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TorchVisionModels.Classification;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace Inference.Tests.Serving;

/// <summary>
/// The serve tests' collection: they read the process-wide Prometheus metrics, so they run one at a time; and they
/// time answers (504 at the limit) and measure resident memory, so they run alone, after the other tests: beside the
/// classify tests' decoding, the thread pool's starvation once delayed a 0.3 s time limit's 504 by 4.6 s.
/// </summary>
[CollectionDefinition(TestServers.Collection, DisableParallelization = true)]
public sealed class ServeCollection;

/// <summary>Servers on loopback ports for the serve tests, stopped when disposed, and what the tests ask of them.</summary>
sealed class TestServers : IAsyncDisposable
{
    /// <summary>The collection of every test class that starts a server.</summary>
    public const string Collection = "serve";

    /// <summary>The seeded ResNet-18 whose answers PyTorch wrote.</summary>
    public static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");

    /// <summary>The server's defaults on any free loopback port.</summary>
    public static readonly ServerOptions Options = new() { Port = 0, MaxBatchSize = 8, MaxQueue = 64, MaxImagesPerRequest = 8 };

    readonly List<(WebApplication app, ServedModel model)> servers = [];

    public static ImageClassifier Resnet18() => ImageClassifier.Load("resnet18", Weights, new ClassifierOptions { Progress = false });

    /// <summary>Starts a server for <paramref name="classifier"/>, waits until it is ready, and returns a client for it.</summary>
    public async Task<HttpClient> Start(ImageClassifier classifier, ServerOptions options, string name = "resnet18", HttpMessageHandler? handler = null)
    {
        var (app, model) = Build(classifier, options, name);
        await app.StartAsync();
        var client = new HttpClient(handler ?? new HttpClientHandler()) { BaseAddress = new Uri(Address(app)), Timeout = TimeSpan.FromMinutes(2) };
        await WaitFor(async () => (await client.GetAsync("/v2/health/ready")).StatusCode == HttpStatusCode.OK);
        return client;
    }

    /// <summary>Builds a server, not started; it is stopped and freed with the others.</summary>
    public (WebApplication app, ServedModel model) Build(ImageClassifier classifier, ServerOptions options, string name = "resnet18")
    {
        var model = new ServedModel(name, classifier, options);
        var app = InferenceServer.Build(model, options);
        servers.Add((app, model));
        return (app, model);
    }

    /// <summary>Where a started server listens for HTTP.</summary>
    public static string Address(WebApplication app) => Addresses(app)[0];

    /// <summary>Where a started server listens for gRPC (listened on after HTTP).</summary>
    public static string GrpcAddress(WebApplication app) => Addresses(app)[1];

    static List<string> Addresses(WebApplication app)
        => [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses];

    public static async Task<JsonElement> Infer(HttpClient client, JsonObject request)
    {
        using var response = await client.PostAsync("/v2/models/resnet18/infer", JsonContent.Create(request));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement;
    }

    public static async Task<string> Error(HttpResponseMessage response)
        => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;

    public static async Task<(double sum, double count)> BatchSizes(HttpClient client)
        => (await Metric(client, "torchvision_resnet_batch_size_sum"), await Metric(client, "torchvision_resnet_batch_size_count"));

    /// <summary>A metric's value from /metrics, summed over its labels (0 before it is first set).</summary>
    public static async Task<double> Metric(HttpClient client, string name)
        => (await client.GetStringAsync("/metrics")).Split('\n')
            .Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

    public static async Task WaitFor(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
                throw new TimeoutException("the condition never held");
            await Task.Delay(10);
        }
    }

    /// <summary>A request body sent in two halves, the second when <paramref name="rest"/> completes.</summary>
    public sealed class HalfThenRest(byte[] bytes, Task rest) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
            await stream.FlushAsync();
            await rest;
            await stream.WriteAsync(bytes.AsMemory(bytes.Length / 2));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }

    /// <summary>
    /// A model of 10 classes that answers zeros, and once closed holds every forward pass until opened again: the
    /// queue fills behind it. Open at first, so the server's warm-up passes.
    /// </summary>
    public sealed class GateModel() : nn.Module<Tensor, Tensor>(nameof(GateModel))
    {
        readonly ManualResetEventSlim open = new(initialState: true);

        /// <summary>Set when a forward pass waits at the closed gate.</summary>
        public ManualResetEventSlim Entered { get; } = new();

        public ImageClassifier Classifier() => new(this, new ImageClassification(224), [.. Enumerable.Range(0, 10).Select(i => $"c{i}")]);

        public void Close() => open.Reset();

        public void Open() => open.Set();

        public override Tensor forward(Tensor x)
        {
            if (!open.IsSet)
                Entered.Set();
            open.Wait();
            return zeros(x.shape[0], 10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (app, model) in servers)
        {
            await app.StopAsync();
            await app.DisposeAsync();
            await model.DisposeAsync();
        }
    }
}
