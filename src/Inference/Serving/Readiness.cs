using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Inference.Serving;

/// <summary>
/// Whether the server should get traffic: only once the model has answered a warm-up batch (the first forward
/// pass pays for lazy initialisation: ONNX Runtime's arena, oneDNN's kernels), and no longer from the moment the
/// host is told to stop (SIGTERM), while in-flight work drains. Liveness is not this: the process is live throughout.
/// </summary>
sealed class Readiness
{
    volatile bool warmedUp;
    volatile bool stopping;

    /// <summary>Warms the model up once the host has started, and turns not-ready when it starts stopping.</summary>
    public Readiness(ServedModel model, IHostApplicationLifetime lifetime, ILogger<Readiness> log)
    {
        lifetime.ApplicationStarted.Register(() => _ = Task.Run(async () =>
        {
            try
            {
                await model.WarmUpAsync();
                warmedUp = true;
            }
            catch (Exception e)
            {
                log.LogError(e, "The warm-up batch failed: the server stays not ready");
            }
        }));
        lifetime.ApplicationStopping.Register(() => stopping = true);
    }

    /// <summary>Warmed up and not stopping.</summary>
    public bool Ready => warmedUp && !stopping;
}
