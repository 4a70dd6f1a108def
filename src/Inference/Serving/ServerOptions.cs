namespace Inference.Serving;

/// <summary>How <c>serve</c> listens, batches and protects itself.</summary>
/// <param name="Urls">Where Kestrel listens, e.g. http://0.0.0.0:8080.</param>
/// <param name="MaxBatchSize">The most images one forward pass takes.</param>
/// <param name="MaxBatchDelay">How long a batch's first request waits for more.</param>
/// <param name="MaxQueue">The most images waiting for the model; more get 503.</param>
/// <param name="TopK">Classes per image in top-k answers, unless the request says otherwise.</param>
/// <param name="RequestTimeout">The longest a request waits for its answer (504 after).</param>
/// <param name="MaxRequestBytes">The largest request body (413 above).</param>
sealed record ServerOptions(string Urls, int MaxBatchSize, TimeSpan MaxBatchDelay, int MaxQueue, int TopK, TimeSpan RequestTimeout, long MaxRequestBytes);
