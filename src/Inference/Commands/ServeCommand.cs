using System.CommandLine;
using Inference.Serving;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Inference.Commands;

/// <summary>
/// <c>serve</c>: a model behind HTTP with dynamic batching: KServe's Open Inference Protocol (v2), TorchServe's
/// plain predictions endpoint, Prometheus metrics; a bounded queue, size and time limits, graceful shutdown.
/// </summary>
static class ServeCommand
{
    public static Command Create()
    {
        var source = new SourceOptions();
        var name = new Option<string?>("--name") { Description = "The name clients address the model by (default: the architecture)" };
        var run = new RunOptions();
        var defaults = new ServerOptions();
        var host = new Option<string>("--host") { Description = "The address to listen on: an IP address (0.0.0.0: every interface) or localhost", DefaultValueFactory = _ => defaults.Host };
        var port = new Option<int>("--port") { Description = "The HTTP port to listen on", DefaultValueFactory = _ => defaults.Port };
        var grpcPort = new Option<int?>("--grpc-port") { Description = "Also serve KServe's v2 gRPC service on this port (HTTP/2); off by default" };
        var maxBatch = OptionRules.Positive(new Option<int>("--max-batch-size") { Description = "The most images one forward pass takes", DefaultValueFactory = _ => defaults.MaxBatchSize });
        var delay = new Option<int>("--max-batch-delay-ms") { Description = "How long a batch's first request waits for more", DefaultValueFactory = _ => (int)defaults.MaxBatchDelay.TotalMilliseconds };
        var queue = OptionRules.Positive(new Option<int>("--max-queue") { Description = "The most images waiting for the model; more get 503", DefaultValueFactory = _ => defaults.MaxQueue });
        var maxImages = OptionRules.Positive(new Option<int?>("--max-images-per-request") { Description = "The most images one request may carry (default: --max-batch-size)" });
        var topk = OptionRules.Positive(new Option<int>("--topk") { Description = "Classes per image in top-k answers, unless a request asks otherwise", DefaultValueFactory = _ => defaults.TopK });
        var timeout = OptionRules.Positive(new Option<int>("--request-timeout-ms") { Description = "The longest a request may take, reading and decoding included (504 after)", DefaultValueFactory = _ => (int)defaults.RequestTimeout.TotalMilliseconds });
        var maxRequest = OptionRules.Positive(new Option<int>("--max-request-mb") { Description = "The largest request body in MB (413 above)", DefaultValueFactory = _ => (int)(defaults.MaxRequestBytes >> 20) });
        var budget = OptionRules.Positive(new Option<int>("--memory-budget-mb") { Description = "The memory all requests in flight may hold, in MB: bodies, images being decoded, preprocessed images (503 past it)", DefaultValueFactory = _ => (int)(defaults.MemoryBudgetBytes >> 20) });
        var apiKeys = new Option<FileInfo?>("--api-key-file") { Description = "A file of API keys, one per line: inference and metadata then need 'Authorization: Bearer KEY'" };
        var metrics = new Option<MetricsAccess>("--metrics") { Description = "Who may read /metrics: protected (as inference), open, or off", DefaultValueFactory = _ => defaults.Metrics };
        var tlsCertificate = new Option<FileInfo?>("--tls-cert") { Description = "HTTPS: the certificate (PEM), with --tls-key" };
        var tlsKey = new Option<FileInfo?>("--tls-key") { Description = "HTTPS: the certificate's private key (PEM)" };
        delay.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--max-batch-delay-ms must be at least 0"); });
        port.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0 or > 65535) r.AddError("--port must be 0 to 65535"); });
        grpcPort.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 0 or > 65535) r.AddError("--grpc-port must be 0 to 65535"); });
        host.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is var h && h != "localhost" && !System.Net.IPAddress.TryParse(h, out _))
                r.AddError($"--host must be an IP address (0.0.0.0 for every interface) or localhost, got '{h}'");
        });

        var command = new Command("serve", "Serve a model over HTTP: KServe's v2 protocol, POST /predictions/NAME, /metrics; dynamic batching.")
        {
            name, host, port, grpcPort, maxBatch, delay, queue, maxImages, topk, timeout,
            maxRequest, budget, apiKeys, metrics, tlsCertificate, tlsKey,
        };
        foreach (var option in source.All.Concat(run.All))
            command.Options.Add(option);
        command.Validators.Add(r =>
        {
            if ((r.GetValue(tlsCertificate) is null) != (r.GetValue(tlsKey) is null))
                r.AddError("--tls-cert and --tls-key go together: give both for HTTPS, or neither");
        });
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            var classifierOptions = run.Read(result, progress: true, preset => preset);
            var classifier = source.LoadClassifier(result, classifierOptions);
            var options = new ServerOptions
            {
                Host = result.GetValue(host)!,
                Port = result.GetValue(port),
                GrpcPort = result.GetValue(grpcPort),
                MaxBatchSize = result.GetValue(maxBatch),
                MaxBatchDelay = TimeSpan.FromMilliseconds(result.GetValue(delay)),
                MaxQueue = result.GetValue(queue),
                MaxImagesPerRequest = result.GetValue(maxImages) ?? result.GetValue(maxBatch),
                TopK = Math.Min(result.GetValue(topk), classifier.Categories.Count),
                RequestTimeout = TimeSpan.FromMilliseconds(result.GetValue(timeout)),
                MaxRequestBytes = result.GetValue(maxRequest) * 1048576L,
                MemoryBudgetBytes = result.GetValue(budget) * 1048576L,
                ApiKeys = result.GetValue(apiKeys) is { } keys ? ServerSecrets.ApiKeys(keys.FullName) : [],
                Metrics = result.GetValue(metrics),
                Certificate = result.GetValue(tlsCertificate) is { } certificate ? ServerSecrets.Certificate(certificate.FullName, result.GetValue(tlsKey)!.FullName) : null,
            };
            Run(new ServedModel(result.GetValue(name) ?? classifier.Source!.Architecture, classifier, options), options, result.InvocationConfiguration.Output,
                run.Describe(result, classifier.Backend!));
            return ExitCodes.Success;
        }));
        return command;
    }

    static void Run(ServedModel model, ServerOptions options, TextWriter output, string backend)
    {
        var app = InferenceServer.Build(model, options);
        try
        {
            app.Start();
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            output.WriteLine($"serving {model.Name} ({model.Classifier.Source!.Description}, backend {backend}) on {string.Join(", ", addresses)}");
            output.Flush();
            app.WaitForShutdown();
        }
        finally
        {
            // After the host stopped taking requests and finished those it had: answer what is queued, then free.
            model.DisposeAsync().AsTask().GetAwaiter().GetResult();
            ((IDisposable)app).Dispose();
        }
    }
}
