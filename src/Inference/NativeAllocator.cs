using System.Runtime.InteropServices;

namespace Inference;

/// <summary>How libtorch's CPU tensors get their memory from the C library.</summary>
static class NativeAllocator
{
    const int M_TRIM_THRESHOLD = -1;
    const int M_MMAP_MAX = -4;

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int parameter, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);

    /// <summary>
    /// Gives the C library's free memory back to the system: glibc's per-thread arenas keep what is freed, such as
    /// a large image's decoding buffers (see <see cref="Serving.MemoryReclaimer"/>). Linux with glibc only; elsewhere
    /// nothing happens.
    /// </summary>
    public static void ReturnFreedMemory()
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            _ = malloc_trim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: nothing to trim.
        }
    }

    /// <summary>
    /// For training: keeps freed tensor memory in the process for the next step instead of returning it to the OS.
    /// glibc maps every block over 32 MB (most activations when training at 224 px) afresh and unmaps it when
    /// freed, so each step page-faulted about 2 GB back in: ResNet-50 at batch 16 spent 1.5 s of a 5 s step in the
    /// kernel. The cost is resident memory: freed blocks stay with the process (ResNet-50 at batch 16: 3.5 GB peak
    /// instead of 2.6-3.0). Inference gains nothing from it (its blocks are small enough for glibc to reuse), so only
    /// the training commands call it. Linux with glibc only; elsewhere nothing changes.
    /// </summary>
    public static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            // Best effort: a refused setting only leaves glibc's default, which is slower, never wrong.
            _ = mallopt(M_MMAP_MAX, 0);
            _ = mallopt(M_TRIM_THRESHOLD, int.MaxValue);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl has no tunable allocator): keep its defaults.
        }
    }
}
