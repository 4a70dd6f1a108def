using System.Collections.Concurrent;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Datasets;

/// <summary>
/// Batches of an <see cref="ImageFolder"/> (or a subset of it), decoded and transformed on background threads
/// while the caller computes, like PyTorch's <c>DataLoader</c> with <c>num_workers</c>: batch <c>b</c> is built by
/// worker <c>b % num_workers</c>, each worker runs at most <c>prefetch_factor</c> batches ahead, and batches arrive
/// in order. Everything random derives from <c>seed</c>, the epoch and the sample, so an epoch is the same however
/// many workers build it and whether or not the run was resumed. Files that fail to decode are reported through
/// <see cref="Skipped"/> and left out of their batch.
/// </summary>
public sealed class ImageFolderLoader
{
    readonly ImageFolder dataset;
    readonly IReadOnlyList<int> indices;
    readonly Func<RgbImage, Generator, Tensor> transform;

    /// <summary>Prepares batches of the samples <paramref name="indices"/> of <paramref name="dataset"/> (all of them when null).</summary>
    /// <param name="dataset">The images and their classes.</param>
    /// <param name="transform">Turns a decoded image into a tensor [3, H, W]; every random draw must come from the generator it is given.</param>
    /// <param name="batch_size">Samples per batch.</param>
    /// <param name="shuffle">A new random order each epoch.</param>
    /// <param name="drop_last">Leave out the last batch when it is smaller than <paramref name="batch_size"/>.</param>
    /// <param name="num_workers">Background threads decoding and transforming.</param>
    /// <param name="prefetch_factor">Batches each worker may hold ready: the bound on the memory the loader uses.</param>
    /// <param name="seed">The seed of the shuffling and of each sample's augmentation.</param>
    /// <param name="indices">The subset of the dataset to load.</param>
    /// <param name="repetitions">
    /// Above 1, train.py's repeated-augmentation sampler (<c>--ra-sampler --ra-reps</c>) in one process: the shuffled
    /// samples each repeated this many times in a row, each repetition augmented with its own draws, and the epoch cut
    /// to the samples' count rounded down to a multiple of 256, as RASampler cuts it.
    /// </param>
    public ImageFolderLoader(ImageFolder dataset, Func<RgbImage, Generator, Tensor> transform, int batch_size, bool shuffle = false,
        bool drop_last = false, int num_workers = 1, int prefetch_factor = 2, ulong seed = 0, IReadOnlyList<int>? indices = null, int repetitions = 1)
    {
        if (batch_size < 1 || num_workers < 1 || prefetch_factor < 1 || repetitions < 1)
            throw new ArgumentException($"batch_size ({batch_size}), num_workers ({num_workers}), prefetch_factor ({prefetch_factor}) and repetitions ({repetitions}) must be at least 1.");
        this.dataset = dataset;
        this.transform = transform;
        this.indices = indices ?? Enumerable.Range(0, dataset.Count).ToList();
        Repetitions = repetitions;
        if (repetitions > 1 && SampleCount == 0)
            throw new ArgumentException($"Repeated augmentation keeps the {this.indices.Count} images rounded down to a multiple of 256, which is none of them. It needs at least 256 images.", nameof(repetitions));
        if (drop_last && batch_size > SampleCount)
            throw new ArgumentException($"The batch size {batch_size} is larger than the {SampleCount} images of {dataset.root}, so every batch would be dropped. Use a batch size of at most {SampleCount}.");
        this.batch_size = batch_size;
        this.shuffle = shuffle;
        this.drop_last = drop_last;
        this.num_workers = num_workers;
        this.prefetch_factor = prefetch_factor;
        this.seed = seed;
    }

    /// <summary>Samples per batch.</summary>
    public int batch_size { get; }

    /// <summary>Whether each epoch has its own random order.</summary>
    public bool shuffle { get; }

    /// <summary>Whether a last, smaller batch is left out.</summary>
    public bool drop_last { get; }

    /// <summary>Background threads.</summary>
    public int num_workers { get; }

    /// <summary>Batches each worker may hold ready.</summary>
    public int prefetch_factor { get; }

    /// <summary>The seed everything random derives from.</summary>
    public ulong seed { get; }

    /// <summary>Repetitions of each sample in an epoch (1: none), RASampler's <c>repetitions</c>.</summary>
    public int Repetitions { get; }

    /// <summary>The number of samples loaded per epoch (before any is skipped).</summary>
    public int SampleCount => Repetitions > 1 ? indices.Count / 256 * 256 : indices.Count;

    /// <summary>Batches per epoch.</summary>
    public int Count => drop_last ? SampleCount / batch_size : (SampleCount + batch_size - 1) / batch_size;

    /// <summary>Called, from a worker thread, with each file that failed to decode and why.</summary>
    public event Action<ImageFileException>? Skipped;

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>: images [B, 3, H, W] and class indices [B] (int64), owned by the
    /// caller. Stopping early stops the workers and frees the batches they had ready.
    /// </summary>
    public IEnumerable<(Tensor images, Tensor targets)> Batches(long epoch)
    {
        var order = Order(epoch);
        using var cancellation = new CancellationTokenSource();
        var queues = Enumerable.Range(0, num_workers).Select(_ => new BlockingCollection<Slot>(prefetch_factor)).ToList();
        var workers = Enumerable.Range(0, num_workers).Select(w => Task.Factory.StartNew(
            () => Work(w, order, epoch, queues[w], cancellation.Token), TaskCreationOptions.LongRunning)).ToList();
        try
        {
            for (var b = 0; b < Count; b++)
            {
                var slot = queues[b % num_workers].Take();
                if (slot.error is { } error)
                    throw new InvalidOperationException($"Loading a batch of {dataset.root} failed: {error.Message}", error);
                if (slot.samples is { Length: > 0 } samples)
                    yield return Collate(samples, slot.targets!);
            }
        }
        finally
        {
            // Cancelling wakes a worker blocked on a full queue; each frees the batch it was holding.
            cancellation.Cancel();
            Task.WaitAll(workers.ToArray());
            foreach (var queue in queues)
            {
                while (queue.TryTake(out var left))
                    Free(left);
                queue.Dispose();
            }
        }
    }

    /// <summary>A batch's transformed samples and their classes (empty when every file was skipped), or why building it failed.</summary>
    readonly record struct Slot(Tensor[]? samples, long[]? targets, Exception? error);

    static void Free(Slot slot)
    {
        foreach (var sample in slot.samples ?? [])
            sample.Dispose();
    }

    /// <summary>
    /// Stacks a batch on the consumer's thread: a batch-sized copy is large enough for libtorch to parallelise, and its
    /// thread pool belongs to the thread that runs the model, not to the loader's workers.
    /// </summary>
    static (Tensor images, Tensor targets) Collate(Tensor[] samples, long[] targets)
    {
        try
        {
            return (stack(samples), tensor(targets));
        }
        finally
        {
            foreach (var sample in samples)
                sample.Dispose();
        }
    }

    /// <summary>A sample to load, and the key its augmentation's seed derives from (its index, plus a multiple of the dataset's size for a repetition).</summary>
    readonly record struct Sample(int Index, ulong Key);

    /// <summary>The samples of an epoch: a permutation drawn from the epoch's seed, or the dataset's order; each repeated <see cref="Repetitions"/> times.</summary>
    Sample[] Order(long epoch)
    {
        IEnumerable<int> order = indices;
        if (shuffle)
        {
            using var generator = new Generator(Mix(seed, (ulong)epoch, ulong.MaxValue));
            using var permutation = randperm(indices.Count, generator: generator);
            order = permutation.data<long>().Select(i => indices[(int)i]).ToArray();
        }
        return [.. order.SelectMany(i => Enumerable.Range(0, Repetitions).Select(r => new Sample(i, (ulong)i + (ulong)r * (ulong)dataset.Count))).Take(SampleCount)];
    }

    void Work(int worker, Sample[] order, long epoch, BlockingCollection<Slot> queue, CancellationToken cancellation)
    {
        for (var b = worker; b < Count && !cancellation.IsCancellationRequested; b += num_workers)
        {
            Slot slot;
            try
            {
                slot = Build(order[(b * batch_size)..Math.Min(order.Length, (b + 1) * batch_size)], epoch);
            }
            catch (Exception e)
            {
                slot = new(null, null, e);
            }
            try
            {
                queue.Add(slot, cancellation);
            }
            catch (OperationCanceledException)
            {
                Free(slot);
                return;
            }
        }
    }

    Slot Build(Sample[] samples, long epoch)
    {
        var images = new List<Tensor>(samples.Length);
        var targets = new List<long>(samples.Length);
        try
        {
            foreach (var (index, key) in samples)
            {
                (RgbImage image, int target) sample;
                try
                {
                    sample = dataset[index];
                }
                catch (ImageFileException e)
                {
                    Skipped?.Invoke(e);
                    continue;
                }
                using var generator = new Generator(Mix(seed, (ulong)epoch, key));
                images.Add(transform(sample.image, generator));
                targets.Add(sample.target);
            }
            return new([.. images], [.. targets], null);
        }
        catch
        {
            foreach (var image in images)
                image.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The generator of the draws made for a whole batch (mixup, cutmix) of <paramref name="epoch"/>: seeded from the
    /// seed, the epoch and the batch's index, apart from every sample's and from the shuffle's.
    /// </summary>
    public Generator BatchGenerator(long epoch, int batch) => new(Mix(seed, (ulong)epoch, ulong.MaxValue - 1 - (ulong)batch));

    /// <summary>A seed for one (run, epoch, sample): SplitMix64 steps over the three, so neighbouring values give unrelated seeds.</summary>
    static ulong Mix(ulong seed, ulong epoch, ulong sample)
    {
        static ulong SplitMix(ulong x)
        {
            x += 0x9E3779B97F4A7C15;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
            return x ^ (x >> 31);
        }
        return SplitMix(SplitMix(SplitMix(seed) ^ epoch) ^ sample);
    }
}
