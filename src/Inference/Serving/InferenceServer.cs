using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using BadHttpRequestException = Microsoft.AspNetCore.Http.BadHttpRequestException;
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
/// Ready once the model has run a warm-up batch, not ready from SIGTERM on, while the host stops accepting,
/// finishes the requests it has, and the model answers everything queued.
/// </summary>
static class InferenceServer
{
    /// <summary>The server for <paramref name="model"/>, built but not started.</summary>
    public static WebApplication Build(ServedModel model, ServerOptions options)
    {
        // Resampling a large image runs its rows with Parallel.For, which fills the thread pool's few threads (one per
        // core); deadline timers and Kestrel's I/O queued behind it until the pool grew (a 0.3 s limit's 504 came after
        // 3.4 s on 2 cores). Threads beyond the cores, ready at once, keep answering while images decode.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 8 * Environment.ProcessorCount), io);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            Listen(kestrel, options.Host, options.Port, HttpProtocols.Http1AndHttp2, options);
            if (options.GrpcPort is { } grpcPort)
                Listen(kestrel, options.Host, grpcPort, HttpProtocols.Http2, options);
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console => { console.SingleLine = true; console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; console.UseUtcTimestamp = true; });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.RequestTimeout + TimeSpan.FromSeconds(5));
        ServerTracing.AddTo(builder);
        builder.Services.AddSingleton(model);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<Readiness>();
        if (options.GrpcPort is not null)
            builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = (int)Math.Min(options.MaxRequestBytes, int.MaxValue));
        var authenticated = options.ApiKeys.Count > 0;
        if (authenticated)
        {
            builder.Services.AddAuthentication(ApiKeyAuthentication.Name)
                .AddScheme<ApiKeyOptions, ApiKeyAuthentication>(ApiKeyAuthentication.Name,
                    keys => keys.KeyHashes = [.. options.ApiKeys.Select(ApiKeyAuthentication.Hash)]);
            builder.Services.AddAuthorization();
        }
        var app = builder.Build();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("serve");
        var readiness = app.Services.GetRequiredService<Readiness>();

        app.UseHttpMetrics();
        if (authenticated)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }

        // Probes stay open: a kubelet has no key. Everything that touches the model needs one, when keys are set.
        app.MapGet("/v2/health/live", () => Results.Json(new { live = true }));
        app.MapGet("/v2/health/ready", () => Results.Json(new { ready = readiness.Ready }, statusCode: readiness.Ready ? 200 : 503));
        if (options.Metrics != MetricsAccess.Off)
            Protect(app.MapMetrics("/metrics"), authenticated && options.Metrics == MetricsAccess.Protected);
        var api = app.MapGroup("");
        Protect(api, authenticated);
        if (options.GrpcPort is not null)
            Protect(app.MapGrpcService<GrpcInferenceService>(), authenticated);

        api.MapGet("/v2", () => Results.Json(new { name = "torchvision-resnet", version = typeof(InferenceServer).Assembly.GetName().Version?.ToString(), extensions = Array.Empty<string>() }));
        api.MapGet("/v2/models/{name}", (string name) => Served(model, name) ?? Results.Json(OpenInferenceProtocol.Metadata(model), OpenInferenceProtocol.Json));
        api.MapGet("/v2/models/{name}/ready", (string name) => Served(model, name)
            ?? Results.Json(new { name, ready = readiness.Ready }, statusCode: readiness.Ready ? 200 : 503));
        api.MapPost("/v2/models/{name}/infer", (string name, HttpContext context) => Answer(context, log, model, options, name, async (body, arrival, cancelled) =>
        {
            OpenInferenceJson.Request request;
            IDisposable tensors;
            using (body)
                request = OpenInferenceJson.Parse(body.Bytes, model, options, out tensors, cancelled);
            using (tensors)
            {
                List<Task<float[]>> answers;
                using (arrival)
                    answers = model.LogitsAsync(request.Images, cancelled);
                return Results.Json(OpenInferenceJson.Response(model, request, await Task.WhenAll(answers)), OpenInferenceProtocol.Json);
            }
        }));
        api.MapPost("/predictions/{name}", (string name, HttpContext context) =>
        {
            // Read here, on the request's thread: the work runs detached and may outlive the request.
            var asked = context.Request.Query["topk"];
            return Answer(context, log, model, options, name, async (body, arrival, cancelled) =>
            {
                var classes = model.Classifier.Categories.Count;
                var topk = asked is { Count: 1 } k ? (int.TryParse(k[0], out var n) && n >= 1 && n <= classes ? n
                    : throw new BadRequestException($"topk must be 1 to {classes}, got '{k[0]}'.")) : options.TopK;
                Task<float[]> answer;
                using (model.Memory.Reserve(model.TensorBytes, "the uploaded image"))
                {
                    using (arrival)
                    using (body)
                    {
                        if (body.Bytes.IsEmpty)
                            throw new BadRequestException("The request body is empty: send the image file's bytes.");
                        answer = model.LogitsAsync(model.Preprocess(body.AsStream(), "the uploaded image"), cancelled);
                    }
                    var top = model.Classifier.TopK(await answer, topk);
                    return Results.Json(new { model = model.Name, top = top.Select(p => new { label = p.Label, index = p.Index, probability = p.Probability }) });
                }
            });
        });
        return app;
    }

    static void Listen(KestrelServerOptions kestrel, string host, int port, HttpProtocols protocols, ServerOptions options)
    {
        void Configure(ListenOptions listen)
        {
            // HTTP/2 needs TLS's protocol negotiation; without TLS, only gRPC's port speaks it (prior knowledge).
            listen.Protocols = options.Certificate is null && protocols == HttpProtocols.Http1AndHttp2 ? HttpProtocols.Http1 : protocols;
            if (options.Certificate is { } certificate)
                listen.UseHttps(certificate);
        }
        if (host == "localhost")
            kestrel.ListenLocalhost(port, Configure);
        else
            kestrel.Listen(IPAddress.Parse(host), port, Configure);
    }

    static void Protect(IEndpointConventionBuilder endpoints, bool authenticated)
    {
        if (authenticated)
            endpoints.RequireAuthorization();
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
    /// Answers an inference request within its time limit (<see cref="RequestDeadline"/>): the body is read (under
    /// the memory budget), then <paramref name="work"/> decodes, queues and waits on a pool thread, owning the body
    /// and the request's arrival mark. Each kind of failure becomes its status and one message:
    /// the client's mistakes 4xx, a full queue or budget 503 with Retry-After, and only a bug 500, logged with an id.
    /// </summary>
    static async Task<IResult> Answer(HttpContext context, ILogger log, ServedModel model, ServerOptions options, string name,
        Func<RequestBody, IDisposable, CancellationToken, Task<IResult>> work)
    {
        if (Served(model, name) is { } notFound)
            return notFound;
        using var deadline = new RequestDeadline(options.RequestTimeout, context.RequestAborted);
        using var span = ServerTracing.Spans.StartActivity("infer");
        try
        {
            var arrival = model.Arriving();
            RequestBody body;
            try
            {
                using (ServerTracing.Spans.StartActivity("read"))
                    body = await RequestBody.ReadAsync(context.Request, model.Memory, options.MaxRequestBytes, deadline.Token);
            }
            catch
            {
                arrival.Dispose();
                throw;
            }
            return await deadline.Run(async cancelled =>
            {
                using (arrival)
                using (body)
                    return await work(body, arrival, cancelled);
            });
        }
        catch (Exception e) when (e is BadRequestException or ImageFileException)
        {
            ServerMetrics.Errors.WithLabels(e is BadRequestException ? "bad_request" : "bad_image").Inc();
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }
        catch (Exception e) when (e is RequestTooLargeException || e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
        {
            ServerMetrics.Errors.WithLabels("payload_too_large").Inc();
            return Error(StatusCodes.Status413PayloadTooLarge, e is RequestTooLargeException ? e.Message
                : $"The request body is larger than the server's limit of {options.MaxRequestBytes} bytes.");
        }
        catch (BadHttpRequestException e)
        {
            ServerMetrics.Errors.WithLabels("bad_request").Inc();
            return Error(e.StatusCode, e.Message);
        }
        catch (ServerBusyException e)
        {
            ServerMetrics.Errors.WithLabels(e.Kind).Inc();
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
            log.LogError(e, "Internal error {Id} on {Path}", context.TraceIdentifier, context.Request.Path);
            return Error(StatusCodes.Status500InternalServerError, $"Internal error {context.TraceIdentifier}: the server's log has its details.");
        }
    }

    static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
