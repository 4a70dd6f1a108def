using System.Diagnostics;
using System.Threading.Channels;
using static TorchSharp.torch;

namespace TorchVisionModels.Classification;

/// <summary>
/// Dynamic batching for a server: requests (one preprocessed image each) wait in a bounded queue; one worker takes
/// up to <c>maxBatchSize</c> of them, runs the model once on the batch and answers each request with its row of
/// logits. A batch that is not full waits for more, at most <c>maxDelay</c> after its first request, but only while
/// requests are known to be on their way (<see cref="Arriving"/>): alone, a request runs at once. Preprocessing stays
/// with the callers, in parallel; only the model runs here, one batch at a time. With a trace listener, each request
/// gets a <c>queue</c> span (queued to batched) under the activity that queued it, and each batch a <c>batch</c> span
/// linking the requests it served (<see cref="ActivitySourceName"/>).
/// </summary>
public sealed class DynamicBatcher : IAsyncDisposable
{
    sealed record Request(Tensor Image, TaskCompletionSource<float[]> Answer, ActivityContext Caller, DateTime Queued, CancellationToken Cancelled);

    /// <summary>The name of the <see cref="ActivitySource"/> of the <c>queue</c> and <c>batch</c> spans.</summary>
    public const string ActivitySourceName = "TorchVisionModels.DynamicBatcher";

    static readonly ActivitySource Spans = new(ActivitySourceName);

    readonly nn.Module<Tensor, Tensor> model;
    readonly Device device;
    readonly int maxBatchSize;
    readonly TimeSpan maxDelay;
    readonly Channel<Request> queue;
    readonly Task worker;
    int depth;
    int arriving;

    /// <summary>Starts the worker.</summary>
    /// <param name="model">The network (in eval mode), images in, logits out.</param>
    /// <param name="device">Where the model runs: each batch is moved there.</param>
    /// <param name="maxBatchSize">The most images one forward pass takes.</param>
    /// <param name="maxDelay">How long the first request of a batch waits for more.</param>
    /// <param name="maxQueue">The most requests waiting; more are refused (<see cref="TryEnqueue"/>).</param>
    public DynamicBatcher(nn.Module<Tensor, Tensor> model, Device device, int maxBatchSize, TimeSpan maxDelay, int maxQueue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueue, 1);
        this.model = model;
        this.device = device;
        this.maxBatchSize = maxBatchSize;
        this.maxDelay = maxDelay;
        queue = Channel.CreateBounded<Request>(new BoundedChannelOptions(maxQueue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        worker = Task.Factory.StartNew(Run, TaskCreationOptions.LongRunning).Unwrap();
    }

    /// <summary>Requests waiting for the model: queued, or in the batch being gathered.</summary>
    public int QueueDepth => Volatile.Read(ref depth);

    /// <summary>
    /// Says a request is on its way (its image being received or decoded), so a batch being gathered waits for it,
    /// up to the delay. Dispose it once the request is queued or has failed.
    /// </summary>
    public IDisposable Arriving()
    {
        Interlocked.Increment(ref arriving);
        return new Arrival(this);
    }

    sealed class Arrival(DynamicBatcher batcher) : IDisposable
    {
        int done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref done, 1) == 0)
                Interlocked.Decrement(ref batcher.arriving);
        }
    }

    /// <summary>Told the size of each batch the model ran, and how long it took.</summary>
    public event Action<int, TimeSpan>? BatchRan;

    /// <summary>
    /// Queues <paramref name="image"/> (a preprocessed [3, H, W] tensor, which the batcher disposes); its logits
    /// arrive in <paramref name="logits"/>. False, with the image disposed, when the queue is full or closed.
    /// </summary>
    public bool TryEnqueue(Tensor image, CancellationToken cancelled, out Task<float[]> logits)
    {
        var answer = new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        logits = answer.Task;
        Interlocked.Increment(ref depth);
        if (queue.Writer.TryWrite(new Request(image, answer, Activity.Current?.Context ?? default, DateTime.UtcNow, cancelled)))
            return true;
        Interlocked.Decrement(ref depth);
        image.Dispose();
        return false;
    }

    async Task Run()
    {
        var batch = new List<Request>(maxBatchSize);
        while (await queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            Take(batch);
            if (batch.Count < maxBatchSize && maxDelay > TimeSpan.Zero && Volatile.Read(ref arriving) > 0)
            {
                using var wait = new CancellationTokenSource(maxDelay);
                try
                {
                    while (batch.Count < maxBatchSize && Volatile.Read(ref arriving) > 0 && await queue.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                        Take(batch);
                }
                catch (OperationCanceledException)
                {
                    // The delay is over: run what came.
                }
            }
            Forward(batch);
        }
    }

    void Take(List<Request> batch)
    {
        while (batch.Count < maxBatchSize && queue.Reader.TryRead(out var request))
        {
            if (request.Cancelled.IsCancellationRequested)
            {
                // The client gave up (timed out, disconnected): no model time for it.
                Interlocked.Decrement(ref depth);
                request.Image.Dispose();
                request.Answer.TrySetCanceled(request.Cancelled);
                continue;
            }
            batch.Add(request);
        }
    }

    void Forward(List<Request> batch)
    {
        if (batch.Count == 0)
            return;
        Interlocked.Add(ref depth, -batch.Count);
        var clock = Stopwatch.StartNew();
        using var span = Trace(batch);
        try
        {
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            var logits = model.call(stack(batch.Select(r => r.Image)).to(device)).to(float32).cpu();
            var classes = (int)logits.shape[1];
            var all = logits.data<float>().ToArray();
            for (var i = 0; i < batch.Count; i++)
                batch[i].Answer.TrySetResult(all[(i * classes)..((i + 1) * classes)]);
        }
        catch (Exception e)
        {
            foreach (var request in batch)
                request.Answer.TrySetException(e);
        }
        finally
        {
            foreach (var request in batch)
                request.Image.Dispose();
        }
        BatchRan?.Invoke(batch.Count, clock.Elapsed);
    }

    /// <summary>Each request's <c>queue</c> span, ended now, and the <c>batch</c> span that links them (null without a listener).</summary>
    static Activity? Trace(List<Request> batch)
    {
        if (!Spans.HasListeners())
            return null;
        var now = DateTime.UtcNow;
        foreach (var request in batch)
        {
            using var waited = Spans.StartActivity("queue", ActivityKind.Internal, request.Caller, startTime: request.Queued);
            waited?.SetEndTime(now);
        }
        return Spans.StartActivity("batch", ActivityKind.Internal, parentContext: default,
            tags: [new("batch.size", batch.Count)], links: [.. batch.Where(r => r.Caller != default).Select(r => new ActivityLink(r.Caller))]);
    }

    /// <summary>Stops taking requests, answers every one already queued, then stops the worker.</summary>
    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await worker.ConfigureAwait(false);
    }
}
