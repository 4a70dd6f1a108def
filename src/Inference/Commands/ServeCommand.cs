using System.CommandLine;
using Inference.Serving;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TorchVisionModels.Classification;

namespace Inference.Commands;

/// <summary>
/// <c>serve</c>: a model behind HTTP with dynamic batching: KServe's Open Inference Protocol (v2), TorchServe's
/// plain predictions endpoint, Prometheus metrics; a bounded queue, size and time limits, graceful shutdown.
/// </summary>
static class ServeCommand
{
    public static Command Create()
    {
        var model = ArchitectureOption.Create();
        var weights = WeightsOptions.CreateWeights();
        var categories = WeightsOptions.CreateCategories();
        var name = new Option<string?>("--name") { Description = "The name clients address the model by (default: the architecture)" };
        var backend = BackendOption.Create();
        var dtype = DtypeOption.Create();
        var device = DeviceOption.Create();
        var host = new Option<string>("--host") { Description = "The address to listen on", DefaultValueFactory = _ => "0.0.0.0" };
        var port = new Option<int>("--port") { Description = "The port to listen on", DefaultValueFactory = _ => 8080 };
        var maxBatch = OptionRules.Positive(new Option<int>("--max-batch-size") { Description = "The most images one forward pass takes", DefaultValueFactory = _ => 16 });
        var delay = new Option<int>("--max-batch-delay-ms") { Description = "How long a batch's first request waits for more", DefaultValueFactory = _ => 5 };
        var queue = OptionRules.Positive(new Option<int>("--max-queue") { Description = "The most images waiting for the model; more get 503", DefaultValueFactory = _ => 256 });
        var threads = new Option<int>("--threads") { Description = "Threads the model computes with (0: one per core)" };
        var topk = OptionRules.Positive(new Option<int>("--topk") { Description = "Classes per image in top-k answers, unless a request asks otherwise", DefaultValueFactory = _ => 5 });
        var timeout = OptionRules.Positive(new Option<int>("--request-timeout-ms") { Description = "The longest a request waits for its answer (504 after)", DefaultValueFactory = _ => 30000 });
        var maxRequest = OptionRules.Positive(new Option<int>("--max-request-mb") { Description = "The largest request body in MB (413 above)", DefaultValueFactory = _ => 20 });
        var fast = new Option<bool>("--fast") { Description = "Torch backend: fold BatchNorm and run channels-last", DefaultValueFactory = _ => true };
        delay.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 0) r.AddError("--max-batch-delay-ms must be at least 0"); });
        port.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0 or > 65535) r.AddError("--port must be 0 to 65535"); });

        var command = new Command("serve", "Serve a model over HTTP: KServe's v2 protocol, POST /predictions/NAME, /metrics; dynamic batching.")
        {
            model, weights, categories, name, backend, fast, dtype, device, host, port, maxBatch, delay, queue, threads, topk, timeout, maxRequest,
        };
        command.SetAction(result => ExitCodes.Report(result, () =>
        {
            if (result.GetValue(threads) is > 0 and var t)
                TorchSharp.torch.set_num_threads(t);
            var classifierOptions = BackendOption.Options(result.GetValue(backend)!, result.GetValue(device)!, result.GetValue(dtype)!, result.GetValue(fast), progress: true, preset => preset)
                with { Threads = result.GetValue(threads) };
            var classifier = ImageClassifier.Load(ArchitectureOption.Given(result, model), result.GetValue(weights)!, classifierOptions, result.GetValue(categories));
            var options = new ServerOptions($"http://{result.GetValue(host)}:{result.GetValue(port)}", result.GetValue(maxBatch),
                TimeSpan.FromMilliseconds(result.GetValue(delay)), result.GetValue(queue), Math.Min(result.GetValue(topk), classifier.Categories.Count),
                TimeSpan.FromMilliseconds(result.GetValue(timeout)), result.GetValue(maxRequest) * 1048576L);
            Run(new ServedModel(result.GetValue(name) ?? classifier.Pretrained!.Architecture, classifier, options), options, result.InvocationConfiguration.Output,
                BackendOption.Describe(classifier.Backend!, result.GetValue(backend)!));
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
            output.WriteLine($"serving {model.Name} ({model.Classifier.Pretrained!.Description}, backend {backend}) on {string.Join(", ", addresses)}");
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
