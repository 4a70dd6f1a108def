using TorchVisionModels.Datasets;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Datasets;

/// <summary>
/// The loader's epochs are PyTorch's sample order and the same batches however many workers build them; stopping
/// early frees what was prefetched, and unreadable files are reported and left out.
/// </summary>
public class ImageFolderLoaderTests
{
    static readonly ImageFolder Train = new(Path.Combine(Fixtures.Directory, "fashion-mnist-small", "train"));

    static ImageFolderLoader Loader(ImageFolder dataset, int workers, int batch = 32)
        => new(dataset, new ClassificationPresetTrain(32) { scale = (0.5, 1.0) }.forward, batch, shuffle: true, drop_last: true, num_workers: workers, seed: 7);

    static List<(Tensor images, Tensor targets)> Epoch(ImageFolderLoader loader, long epoch) => loader.Batches(epoch).ToList();

    [Fact]
    public void ShuffleIsTorchRandpermOfTheEpochsSeed()
    {
        var expected = Fixtures.Arrays("engine.expected.npz")["order1"].data<long>().Take(6 * 32).Select(i => (long)Train.targets[(int)i]);
        var batches = Epoch(Loader(Train, workers: 1), epoch: 1);
        Assert.Equal(expected, batches.SelectMany(b => b.targets.data<long>().ToArray()));
        Fixtures.DisposeAll(batches.SelectMany(b => new[] { b.images, b.targets }));
    }

    [Fact]
    public void BatchesDoNotDependOnTheNumberOfWorkers()
    {
        var one = Epoch(Loader(Train, workers: 1), epoch: 2);
        var three = Epoch(Loader(Train, workers: 3), epoch: 2);
        Assert.Equal(6, one.Count);
        Assert.Equal(one.Count, three.Count);
        for (var b = 0; b < one.Count; b++)
        {
            Assert.Equal([32, 3, 32, 32], one[b].images.shape);
            Assert.True(Fixtures.BitIdentical(one[b].images, three[b].images));
            Assert.True(Fixtures.BitIdentical(one[b].targets, three[b].targets));
        }
        var otherEpoch = Epoch(Loader(Train, workers: 2), epoch: 3);
        Assert.False(Fixtures.BitIdentical(one[0].targets, otherEpoch[0].targets));
        Fixtures.DisposeAll(one.Concat(three).Concat(otherEpoch).SelectMany(b => new[] { b.images, b.targets }));
    }

    [Fact]
    public void RepeatedAugmentationRepeatsEachSampleWithItsOwnDrawsAndCutsTheEpochTo256s()
    {
        var root = Directory.CreateTempSubdirectory("ra-sampler-");
        try
        {
            // 300 images of one colour each, so a sample is known by its pixel.
            for (var i = 0; i < 300; i++)
            {
                var folder = Directory.CreateDirectory(Path.Combine(root.FullName, $"class{i % 2}")).FullName;
                using var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(2, 2, new(0, (byte)(i / 256), (byte)(i % 256)));
                SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, Path.Combine(folder, $"{i:D3}.png"));
            }
            static Tensor Identify(RgbImage image, Generator generator)
            {
                using var draw = rand([1], generator: generator);
                return tensor(new[] { image.Pixels[1] * 256f + image.Pixels[2], draw.item<float>() });
            }
            var loader = new ImageFolderLoader(new ImageFolder(root.FullName), Identify, 16, shuffle: true, num_workers: 2, seed: 3, repetitions: 4);
            Assert.Equal((256, 16), (loader.SampleCount, loader.Count));
            var samples = loader.Batches(1).SelectMany(b => { using (b.targets) using (b.images) return b.images.data<float>().Chunk(2).Select(p => (id: p[0], draw: p[1])).ToList(); }).ToList();
            Assert.Equal(256, samples.Count);
            var groups = samples.Chunk(4).ToList();
            Assert.All(groups, g => Assert.Single(g.Select(s => s.id).Distinct()));
            Assert.All(groups, g => Assert.Equal(4, g.Select(s => s.draw).Distinct().Count()));
            Assert.Equal(64, groups.Select(g => g[0].id).Distinct().Count());
            var plain = new ImageFolderLoader(new ImageFolder(root.FullName), Identify, 16, shuffle: true, num_workers: 1, seed: 3);
            var order = plain.Batches(1).SelectMany(b => { using (b.targets) using (b.images) return b.images.data<float>().Chunk(2).Select(p => p[0]).ToList(); });
            // The same shuffle as without repetition: its first 64 samples, each four times.
            Assert.Equal(order.Take(64), groups.Select(g => g[0].id));
            Assert.Throws<ArgumentException>(() => new ImageFolderLoader(Train, Identify, 16, repetitions: 4));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void StoppingEarlyFreesThePrefetchedBatches()
    {
        var preset = new ClassificationPresetTrain(32);
        var made = new System.Collections.Concurrent.ConcurrentBag<Tensor>();
        var loader = new ImageFolderLoader(Train, (image, generator) =>
        {
            var sample = preset.forward(image, generator);
            made.Add(sample);
            return sample;
        }, batch_size: 8, shuffle: true, num_workers: 2, prefetch_factor: 2);

        foreach (var (images, targets) in loader.Batches(1).Take(2))
        {
            images.Dispose();
            targets.Dispose();
        }
        // Two batches taken; the workers had built some more (at most two each, the bound) and all were freed.
        Assert.InRange(made.Count, 16, 16 + 2 * 2 * 8 + 2 * 8);
        Assert.All(made, sample => Assert.True(sample.IsInvalid));
    }

    [Fact]
    public void UnreadableFilesAreReportedAndLeftOut()
    {
        var root = Directory.CreateTempSubdirectory("loader-");
        try
        {
            foreach (var name in Train.classes.Take(2))
            {
                Directory.CreateDirectory(Path.Combine(root.FullName, name));
                foreach (var (path, _) in Train.samples.Where(s => Train.classes[s.target] == name).Take(3))
                    File.Copy(path, Path.Combine(root.FullName, name, Path.GetFileName(path)));
            }
            var broken = Path.Combine(root.FullName, Train.classes[1], "broken.png");
            File.WriteAllText(broken, "not a png");
            var dataset = new ImageFolder(root.FullName);
            var loader = new ImageFolderLoader(dataset, new ClassificationPresetTrain(32).forward, batch_size: 4, num_workers: 2);
            var skipped = new List<string>();
            loader.Skipped += e => { lock (skipped) skipped.Add(e.Message); };

            var batches = Epoch(loader, 0);
            Assert.Equal([4L, 2L], batches.Select(b => b.images.shape[0]));
            Assert.Equal([0L, 0, 0, 1, 1, 1], batches.SelectMany(b => b.targets.data<long>().ToArray()).Order());
            Assert.StartsWith($"{broken} is not a JPEG, PNG, BMP, GIF or WebP image", Assert.Single(skipped));
            Fixtures.DisposeAll(batches.SelectMany(b => new[] { b.images, b.targets }));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void ABatchLargerThanTheDataIsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => Loader(Train, workers: 1, batch: 201));
        Assert.Equal($"The batch size 201 is larger than the 200 images of {Train.root}, so every batch would be dropped. Use a batch size of at most 200.", error.Message);
    }
}
