namespace Inference.Serving;

/// <summary>
/// Gives the memory of large decodes back to the system once they stop. A large image's pixels become garbage on the
/// managed large object heap and in glibc's arenas, which both keep freed memory: after a burst of 9400x9400 PNGs,
/// resident memory stayed 550 MB up after an ordinary collection, 235 MB without glibc's trim, 75 MB (the model's
/// arena) with both (measured). That collection stops every thread for 25-50 ms, so it runs once the large decodes
/// have been quiet for <see cref="Quiet"/>, not after each: during a burst the collector reuses the memory anyway.
/// </summary>
sealed class MemoryReclaimer
{
    /// <summary>How long after the last large decode the memory is given back.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);

    long lastDecoded;
    int waiting;

    /// <summary>Says a large decode has just finished (its pixels are garbage): the reclaim waits for quiet from now.</summary>
    public void LargeDecodeFinished()
    {
        Volatile.Write(ref lastDecoded, Environment.TickCount64);
        if (Interlocked.Exchange(ref waiting, 1) == 0)
            _ = Task.Run(ReclaimWhenQuiet);
    }

    async Task ReclaimWhenQuiet()
    {
        for (long left; (left = (long)Quiet.TotalMilliseconds - (Environment.TickCount64 - Volatile.Read(ref lastDecoded))) > 0;)
            await Task.Delay(TimeSpan.FromMilliseconds(left));
        // Reset first: a decode finishing from here on waits for a reclaim of its own, or is covered by this one.
        Volatile.Write(ref waiting, 0);
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeAllocator.ReturnFreedMemory();
    }
}
