using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using TorchVisionModels.Classification;

namespace Inference.Tests.Serving;

using static TestServers;

/// <summary>
/// Traces: each request's infer span holds its read, decode and queue spans, and the batch span links the requests
/// it served; with OTEL_EXPORTER_OTLP_ENDPOINT set, the spans reach an OTLP collector.
/// </summary>
[Collection(TestServers.Collection)]
public sealed class ServeTracingTests : IAsyncLifetime
{
    readonly TestServers servers = new();

    static string ImageRequest(byte[] file)
        => "{\"inputs\":[{\"name\":\"image\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"" + Convert.ToBase64String(file) + "\"]}]}";

    [Fact]
    public async Task ABatchSpanLinksTheRequestsItServed()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "TorchVisionResNet.Serve" or DynamicBatcher.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        using var client = await servers.Start(Resnet18(), Options with { MaxBatchDelay = TimeSpan.FromMilliseconds(500) });
        spans.Clear();
        using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(300, 200);
        using var png = new MemoryStream();
        SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, png);
        var body = ImageRequest(png.ToArray());

        var responses = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => client.PostAsync("/v2/models/resnet18/infer", new StringContent(body))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await WaitFor(() => Task.FromResult(spans.Count(s => s.OperationName == "infer") == 2));
        var infers = spans.Where(s => s.OperationName == "infer").ToList();
        foreach (var infer in infers)
        {
            var children = spans.Where(s => s.ParentSpanId == infer.SpanId).Select(s => s.OperationName).Order(StringComparer.Ordinal);
            Assert.Equal(["decode", "queue", "read"], children);
        }
        var decode = spans.First(s => s.OperationName == "decode");
        Assert.Equal(300, decode.GetTagItem("image.width"));
        Assert.Equal(200, decode.GetTagItem("image.height"));
        var links = spans.Where(s => s.OperationName == "batch").SelectMany(s => s.Links).Select(l => l.Context.SpanId).ToHashSet();
        Assert.Superset(infers.Select(s => s.SpanId).ToHashSet(), links);
    }

    /// <summary>serve in a child process with OTEL_EXPORTER_OTLP_ENDPOINT set: its spans arrive at a collector here.</summary>
    [Fact]
    public async Task SpansAreExportedOverOtlpWhenAnEndpointIsSet()
    {
        var received = new ConcurrentQueue<byte[]>();
        var collector = WebApplication.CreateSlimBuilder();
        collector.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = collector.Build();
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.Enqueue(body.ToArray());
            return Results.Ok();
        });
        await app.StartAsync();

        using var child = ChildProcess.Start(ServeOnAnyPort, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Address(app),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
        }, Weights);
        try
        {
            var line = await ServeTests.ReadLineStartingWith(child, "serving ");
            using var client = new HttpClient { BaseAddress = new Uri(line[(line.LastIndexOf(" on ", StringComparison.Ordinal) + 4)..].Trim()) };
            await WaitFor(async () => (await client.GetAsync("/v2/health/ready")).IsSuccessStatusCode);
            using var response = await client.PostAsync("/v2/models/resnet18/infer", new StringContent(ImageRequest(File.ReadAllBytes(Path.Combine(Fixtures.Samples, "cat.png")))));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            // OTLP's protobuf carries span and service names as UTF-8 strings.
            bool Exported(string name) => received.Any(b => b.AsSpan().IndexOf(Encoding.UTF8.GetBytes(name)) >= 0);
            await WaitFor(() => Task.FromResult(new[] { "infer", "read", "decode", "queue", "batch", "torchvision-resnet" }.All(Exported)));
        }
        finally
        {
            child.Kill();
        }
    }

    static void ServeOnAnyPort(string[] arguments) => Inference.Cli.Run(["serve", "--model", "resnet18", "--weights", arguments[0], "--port", "0"]);

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => servers.DisposeAsync().AsTask();
}
