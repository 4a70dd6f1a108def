namespace Inference.Serving;

/// <summary>
/// The memory that requests in flight may hold, server-wide: request bodies, images being decoded and the
/// preprocessed tensors waiting to be queued. Each is reserved before it is allocated, from what its header or
/// declared shape says, so no request can allocate what the server does not have; a reservation that does not fit
/// is refused at once (503 with Retry-After) rather than waited for, so requests holding part of the budget never
/// wait on each other. The model, its workspace and the batcher's queue are outside it (fixed at start-up).
/// </summary>
sealed class MemoryBudget(long capacity)
{
    long used;

    /// <summary>The bytes requests may hold at once.</summary>
    public long Capacity { get; } = capacity;

    /// <summary>The bytes reserved now.</summary>
    public long Used => Interlocked.Read(ref used);

    /// <summary>Reserves <paramref name="bytes"/> for <paramref name="what"/> until the reservation is disposed.</summary>
    /// <exception cref="RequestTooLargeException">More than the whole budget: this request can never be served (413).</exception>
    /// <exception cref="ServerBusyException">The budget is taken by other requests now (503).</exception>
    public IDisposable Reserve(long bytes, string what)
    {
        if (bytes > Capacity)
            throw new RequestTooLargeException($"{what} needs {Megabytes(bytes)} MB, more than the server's memory budget for requests ({Megabytes(Capacity)} MB, --memory-budget-mb).");
        if (Interlocked.Add(ref used, bytes) > Capacity)
        {
            Interlocked.Add(ref used, -bytes);
            throw new ServerBusyException("memory_budget", $"The server's memory budget for requests ({Megabytes(Capacity)} MB) is taken by requests in flight. Retry later.");
        }
        ServerMetrics.MemoryReserved.Set(Used);
        return new Reservation(this, bytes);
    }

    static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);

    sealed class Reservation(MemoryBudget budget, long bytes) : IDisposable
    {
        int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
                ServerMetrics.MemoryReserved.Set(Interlocked.Add(ref budget.used, -bytes));
        }
    }
}

/// <summary>The server cannot take the request now (its queue or memory budget is full): retry later (503).</summary>
/// <param name="kind">What is full, as the errors metric names it.</param>
/// <param name="message">What to tell the client.</param>
sealed class ServerBusyException(string kind, string message) : Exception(message)
{
    /// <summary>What is full: <c>queue_full</c> or <c>memory_budget</c>.</summary>
    public string Kind { get; } = kind;
}

/// <summary>A request larger than the server could ever serve (413); the message says which limit.</summary>
sealed class RequestTooLargeException(string message) : Exception(message);
