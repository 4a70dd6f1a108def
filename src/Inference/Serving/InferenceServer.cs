using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using TorchVisionModels.Transforms;

namespace Inference.Serving;

/// <summary>
/// The HTTP server of <c>serve</c> (ASP.NET Core on Kestrel): KServe's Open Inference Protocol (v2) under
/// <c>/v2</c>, TorchServe's plain <c>POST /predictions/{name}</c> for people, and Prometheus metrics at
/// <c>/metrics</c>. Every client error is one JSON object, <c>{"error": "..."}</c>, as the v2 protocol specifies.
/// On SIGTERM the host stops accepting, finishes the requests it has, and the model answers everything queued.
/// </summary>
static class InferenceServer
{
    /// <summary>The server for <paramref name="model"/>, built but not started.</summary>
    public static WebApplication Build(ServedModel model, ServerOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console => { console.SingleLine = true; console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; console.UseUtcTimestamp = true; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.RequestTimeout + TimeSpan.FromSeconds(5));
        var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("serve");

        app.UseHttpMetrics();
        app.MapMetrics("/metrics");

        app.MapGet("/v2", () => Results.Json(new { name = "torchvision-resnet", version = typeof(InferenceServer).Assembly.GetName().Version?.ToString(), extensions = Array.Empty<string>() }));
        app.MapGet("/v2/health/live", () => Results.Json(new { live = true }));
        app.MapGet("/v2/health/ready", () => Results.Json(new { ready = true }));
        app.MapGet("/v2/models/{name}", (string name) => Served(model, name) ?? Results.Json(OpenInferenceProtocol.Metadata(model)));
        app.MapGet("/v2/models/{name}/ready", (string name) => Served(model, name) ?? Results.Json(new { name, ready = true }));
        app.MapPost("/v2/models/{name}/infer", (string name, HttpContext context) => Answer(context, log, options, async cancelled =>
        {
            if (Served(model, name) is { } notFound)
                return notFound;
            OpenInferenceProtocol.Request request;
            List<Task<float[]>> answers;
            using (model.Arriving())
            {
                JsonNode? body;
                try
                {
                    body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: cancelled);
                }
                catch (System.Text.Json.JsonException e)
                {
                    throw new BadRequestException($"The request body is not JSON: {e.Message}");
                }
                request = OpenInferenceProtocol.Parse(body, model, options.TopK);
                answers = model.LogitsAsync(request.Images, cancelled);
            }
            var logits = await Task.WhenAll(answers);
            return Results.Json(OpenInferenceProtocol.Response(model, request, logits));
        }));
        app.MapPost("/predictions/{name}", (string name, HttpContext context) => Answer(context, log, options, async cancelled =>
        {
            if (Served(model, name) is { } notFound)
                return notFound;
            var topk = context.Request.Query["topk"] is { Count: 1 } k ? (int.TryParse(k[0], out var n) && n >= 1 && n <= model.Classifier.Categories.Count ? n
                : throw new BadRequestException($"topk must be 1 to {model.Classifier.Categories.Count}, got '{k[0]}'.")) : options.TopK;
            Task<float[]> answer;
            using (model.Arriving())
            {
                // Kestrel enforces the size limit as the body is read (413); the decoder needs a seekable stream.
                using var upload = new MemoryStream();
                await context.Request.Body.CopyToAsync(upload, cancelled);
                if (upload.Length == 0)
                    throw new BadRequestException("The request body is empty: send the image file's bytes.");
                upload.Position = 0;
                answer = model.LogitsAsync(model.Preprocess(upload, "the uploaded image"), cancelled);
            }
            var logits = await answer;
            var top = model.Classifier.TopK(logits, topk);
            return Results.Json(new { model = model.Name, top = top.Select(p => new { label = p.Label, index = p.Index, probability = p.Probability }) });
        }));
        return app;
    }

    /// <summary>Null when <paramref name="name"/> is the served model; otherwise the 404.</summary>
    static IResult? Served(ServedModel model, string name)
    {
        if (name == model.Name)
            return null;
        ServerMetrics.Errors.WithLabels("not_found").Inc();
        return Error(StatusCodes.Status404NotFound, $"Model '{name}' is not served here; this server serves '{model.Name}'.");
    }

    /// <summary>
    /// Runs a request's work with its time limit, and turns each kind of failure into its status code and one
    /// message: the client's mistakes are 4xx without a stack trace, a full queue 503 with Retry-After, a request
    /// that ran out of time 504, and only a bug is logged as an error (500).
    /// </summary>
    static async Task<IResult> Answer(HttpContext context, ILogger log, ServerOptions options, Func<CancellationToken, Task<IResult>> work)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(options.RequestTimeout);
        try
        {
            return await work(deadline.Token);
        }
        catch (Exception e) when (e is BadRequestException or ImageFileException)
        {
            ServerMetrics.Errors.WithLabels(e is ImageFileException ? "bad_image" : "bad_request").Inc();
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }
        catch (BadHttpRequestException e)
        {
            ServerMetrics.Errors.WithLabels(e.StatusCode == StatusCodes.Status413PayloadTooLarge ? "payload_too_large" : "bad_request").Inc();
            return Error(e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"The request body is larger than the server's limit of {options.MaxRequestBytes} bytes."
                : e.Message);
        }
        catch (QueueFullException e)
        {
            ServerMetrics.Errors.WithLabels("queue_full").Inc();
            context.Response.Headers.RetryAfter = "1";
            return Error(StatusCodes.Status503ServiceUnavailable, e.Message);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            ServerMetrics.Errors.WithLabels("timeout").Inc();
            return Error(StatusCodes.Status504GatewayTimeout, $"The request took longer than the server's limit of {options.RequestTimeout.TotalSeconds:0.###} s.");
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            ServerMetrics.Errors.WithLabels("internal").Inc();
            log.LogError(e, "Internal error on {Path}", context.Request.Path);
            return Error(StatusCodes.Status500InternalServerError, $"Internal error: {e.GetType().Name}: {e.Message}");
        }
    }

    static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
