using System.Security.Cryptography.X509Certificates;

namespace Inference.Serving;

/// <summary>How <c>serve</c> listens, batches, protects itself and who may call it. The defaults are the command's.</summary>
sealed record ServerOptions
{
    /// <summary>The address to listen on: an IP address or <c>localhost</c>. Loopback unless told otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The HTTP port (0: any free port).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>The gRPC port (HTTP/2), or null for no gRPC.</summary>
    public int? GrpcPort { get; init; }

    /// <summary>The most images one forward pass takes.</summary>
    public int MaxBatchSize { get; init; } = 16;

    /// <summary>How long a batch's first request waits for more.</summary>
    public TimeSpan MaxBatchDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>The most images waiting for the model; more get 503.</summary>
    public int MaxQueue { get; init; } = 256;

    /// <summary>The most images one request may carry (400 above).</summary>
    public int MaxImagesPerRequest { get; init; } = 16;

    /// <summary>Classes per image in top-k answers, unless the request says otherwise.</summary>
    public int TopK { get; init; } = 5;

    /// <summary>The longest a request may take, from its first byte to its answer (504 after).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest request body (413 above).</summary>
    public long MaxRequestBytes { get; init; } = 20L << 20;

    /// <summary>The memory all requests in flight may hold at once (<see cref="MemoryBudget"/>).</summary>
    public long MemoryBudgetBytes { get; init; } = 1024L << 20;

    /// <summary>The API keys that may call inference (bearer tokens); none: no authentication.</summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    /// <summary>Who may read <c>/metrics</c>.</summary>
    public MetricsAccess Metrics { get; init; } = MetricsAccess.Protected;

    /// <summary>The certificate (with its key) to serve HTTPS with, or null for plain HTTP.</summary>
    public X509Certificate2? Certificate { get; init; }
}

/// <summary>Who may read <c>/metrics</c>.</summary>
enum MetricsAccess
{
    /// <summary>Whoever may call inference: with API keys, only callers with one.</summary>
    Protected,

    /// <summary>Anyone who reaches the port (a scraper inside the cluster, say).</summary>
    Open,

    /// <summary>Not served.</summary>
    Off,
}
