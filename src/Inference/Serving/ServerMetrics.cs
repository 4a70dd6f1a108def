using Prometheus;

namespace Inference.Serving;

/// <summary>
/// The server's Prometheus metrics (prometheus-net), beside the per-endpoint request counts and latencies that
/// <c>UseHttpMetrics</c> records: errors by kind, the queue's depth, batch sizes and the model's time per batch.
/// </summary>
static class ServerMetrics
{
    public static readonly Counter Errors = Metrics.CreateCounter("torchvision_resnet_errors_total",
        "Requests that failed, by kind: bad_request, bad_image, not_found, unauthorized, payload_too_large, queue_full, memory_budget, timeout, internal.", "kind");

    public static readonly Gauge QueueDepth = Metrics.CreateGauge("torchvision_resnet_queue_depth", "Images waiting for the model.");

    public static readonly Gauge MemoryReserved = Metrics.CreateGauge("torchvision_resnet_memory_reserved_bytes",
        "Bytes of the memory budget held by requests in flight (bodies, images being decoded, preprocessed images).");

    public static readonly Counter Images = Metrics.CreateCounter("torchvision_resnet_images_total", "Images the model classified.");

    public static readonly Histogram BatchSize = Metrics.CreateHistogram("torchvision_resnet_batch_size", "Images per forward pass.",
        new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64] });

    public static readonly Histogram BatchSeconds = Metrics.CreateHistogram("torchvision_resnet_batch_seconds", "The model's time per batch.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.002, 2, 12) });
}
