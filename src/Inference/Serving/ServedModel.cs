using TorchVisionModels.Classification;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace Inference.Serving;

/// <summary>A classifier behind a <see cref="DynamicBatcher"/>: what the endpoints ask for logits and top-k.</summary>
sealed class ServedModel : IAsyncDisposable
{
    readonly DynamicBatcher batcher;
    readonly MemoryReclaimer reclaimer = new();

    public ServedModel(string name, ImageClassifier classifier, ServerOptions options)
    {
        Name = name;
        Classifier = classifier;
        Memory = new MemoryBudget(options.MemoryBudgetBytes);
        ImageElements = 3 * classifier.Transforms.crop_size * classifier.Transforms.crop_size;
        batcher = new DynamicBatcher(classifier.Model, classifier.Device, options.MaxBatchSize, options.MaxBatchDelay, options.MaxQueue);
        batcher.BatchRan += (size, time) =>
        {
            ServerMetrics.BatchSize.Observe(size);
            ServerMetrics.BatchSeconds.Observe(time.TotalSeconds);
            ServerMetrics.Images.Inc(size);
            ServerMetrics.QueueDepth.Set(batcher.QueueDepth);
        };
    }

    /// <summary>The name clients address it by.</summary>
    public string Name { get; }

    public ImageClassifier Classifier { get; }

    /// <summary>The memory requests in flight may hold: bodies, images being decoded, preprocessed images.</summary>
    public MemoryBudget Memory { get; }

    /// <summary>The numbers in one preprocessed image, [3, crop, crop].</summary>
    public int ImageElements { get; }

    /// <summary>The bytes of one preprocessed image.</summary>
    public long TensorBytes => (long)ImageElements * sizeof(float);

    /// <summary>Marks a request as on its way to the model (<see cref="DynamicBatcher.Arriving"/>) until it is queued or has failed.</summary>
    public IDisposable Arriving() => batcher.Arriving();

    /// <summary>
    /// An uploaded image, decoded and preprocessed as <c>classify</c> does: a [3, H, W] tensor. The memory decoding
    /// takes is reserved from the header's size before the pixels are decoded, and returned after.
    /// </summary>
    /// <exception cref="ImageFileException">It is not a supported image, corrupt, or too large.</exception>
    /// <exception cref="ServerBusyException">The memory budget cannot take its decoding now.</exception>
    public Tensor Preprocess(Stream image, string name)
    {
        using var span = ServerTracing.Spans.StartActivity("decode");
        var (width, height) = ImageFile.Identify(image, name);
        span?.SetTag("image.width", width).SetTag("image.height", height);
        var bytes = ImageFile.DecodingBytes(width, height);
        Tensor preprocessed;
        using (Memory.Reserve(bytes, $"{name} ({width}x{height} pixels)"))
            preprocessed = Classifier.Transforms.forward(ImageFile.Load(image, name));
        if (bytes >= LargeDecodingBytes)
            reclaimer.LargeDecodeFinished();
        return preprocessed;
    }

    /// <summary>Decodings this large (8 megapixels) give their memory back to the system once they stop (<see cref="MemoryReclaimer"/>).</summary>
    const long LargeDecodingBytes = 64L << 20;

    /// <summary>The logits of a preprocessed image (which this disposes), batched with others.</summary>
    /// <exception cref="ServerBusyException">The queue is full.</exception>
    public Task<float[]> LogitsAsync(Tensor image, CancellationToken cancelled)
    {
        if (!batcher.TryEnqueue(image, cancelled, out var logits))
            throw new ServerBusyException("queue_full", "The server is at capacity: its queue of images is full. Retry later.");
        ServerMetrics.QueueDepth.Set(batcher.QueueDepth);
        return logits.WaitAsync(cancelled);
    }

    /// <summary>The logits of each preprocessed image (which this disposes); on a full queue, the images not queued are disposed too.</summary>
    /// <exception cref="ServerBusyException">The queue is full.</exception>
    public List<Task<float[]>> LogitsAsync(IReadOnlyList<Tensor> images, CancellationToken cancelled)
    {
        var answers = new List<Task<float[]>>(images.Count);
        try
        {
            foreach (var image in images)
                answers.Add(LogitsAsync(image, cancelled));
            return answers;
        }
        catch (ServerBusyException)
        {
            foreach (var image in images.Skip(answers.Count + 1))
                image.Dispose();
            throw;
        }
    }

    /// <summary>Runs one image of zeros through the batcher and the model, so the first request does not pay for initialisation.</summary>
    public async Task WarmUpAsync()
    {
        var crop = Classifier.Transforms.crop_size;
        await LogitsAsync(zeros(3, crop, crop), CancellationToken.None);
    }

    /// <summary>Answers every queued request, then frees the model.</summary>
    public async ValueTask DisposeAsync()
    {
        await batcher.DisposeAsync();
        Classifier.Dispose();
    }
}
