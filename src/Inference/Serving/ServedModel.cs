using TorchVisionModels.Classification;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace Inference.Serving;

/// <summary>A classifier behind a <see cref="DynamicBatcher"/>: what the endpoints ask for logits and top-k.</summary>
sealed class ServedModel : IAsyncDisposable
{
    readonly DynamicBatcher batcher;

    public ServedModel(string name, ImageClassifier classifier, ServerOptions options)
    {
        Name = name;
        Classifier = classifier;
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

    /// <summary>Marks a request as on its way to the model (<see cref="DynamicBatcher.Arriving"/>) until it is queued or has failed.</summary>
    public IDisposable Arriving() => batcher.Arriving();

    /// <summary>An uploaded image, decoded and preprocessed as <c>classify</c> does: a [3, H, W] tensor.</summary>
    /// <exception cref="ImageFileException">It is not a supported image, corrupt, or too large.</exception>
    public Tensor Preprocess(Stream image, string name) => Classifier.Transforms.forward(ImageFile.Load(image, name));

    /// <summary>The logits of a preprocessed image (which this disposes), batched with others.</summary>
    /// <exception cref="QueueFullException">The queue is full.</exception>
    public Task<float[]> LogitsAsync(Tensor image, CancellationToken cancelled)
    {
        if (!batcher.TryEnqueue(image, cancelled, out var logits))
            throw new QueueFullException();
        ServerMetrics.QueueDepth.Set(batcher.QueueDepth);
        return logits.WaitAsync(cancelled);
    }

    /// <summary>The logits of each preprocessed image (which this disposes); on a full queue, the images not queued are disposed too.</summary>
    /// <exception cref="QueueFullException">The queue is full.</exception>
    public List<Task<float[]>> LogitsAsync(IReadOnlyList<Tensor> images, CancellationToken cancelled)
    {
        var answers = new List<Task<float[]>>(images.Count);
        try
        {
            foreach (var image in images)
                answers.Add(LogitsAsync(image, cancelled));
            return answers;
        }
        catch (QueueFullException)
        {
            foreach (var image in images.Skip(answers.Count + 1))
                image.Dispose();
            throw;
        }
    }

    /// <summary>Answers every queued request, then frees the model.</summary>
    public async ValueTask DisposeAsync()
    {
        await batcher.DisposeAsync();
        Classifier.Dispose();
    }
}

/// <summary>The queue of images waiting for the model is full: the client should retry later (503).</summary>
sealed class QueueFullException() : Exception("The server is at capacity: its queue of images is full. Retry later.");
