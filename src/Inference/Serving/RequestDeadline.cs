namespace Inference.Serving;

/// <summary>
/// A request's time limit, from its first byte to its answer, as REST and gRPC both keep it: cancelled at the limit
/// or when the client goes. <see cref="Run{T}"/> answers at the limit even while work cannot be interrupted (an
/// image being decoded): the work goes on alone, stops at its next check of <see cref="Token"/>, and frees what it owns.
/// </summary>
sealed class RequestDeadline : IDisposable
{
    readonly CancellationTokenSource source;

    /// <summary>Starts the clock.</summary>
    /// <param name="limit">The server's limit.</param>
    /// <param name="aborted">The client's cancellation (it disconnected, or its own deadline passed).</param>
    public RequestDeadline(TimeSpan limit, CancellationToken aborted)
    {
        source = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        source.CancelAfter(limit);
    }

    /// <summary>Cancelled at the limit or when the client goes.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>Runs <paramref name="work"/> on a pool thread and waits for it until the deadline.</summary>
    /// <exception cref="OperationCanceledException">The deadline passed first.</exception>
    public Task<T> Run<T>(Func<CancellationToken, Task<T>> work)
    {
        var token = source.Token;
        var running = Task.Run(() => work(token));
        // Past the deadline nobody awaits it: observe its failure so it is not reported as unobserved.
        _ = running.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        return running.WaitAsync(token);
    }

    public void Dispose() => source.Dispose();
}
