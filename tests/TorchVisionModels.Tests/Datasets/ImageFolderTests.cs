using TorchVisionModels.Datasets;

namespace TorchVisionModels.Tests.Datasets;

/// <summary>ImageFolder finds torchvision's classes and samples in torchvision's order, and says what is wrong with a bad tree.</summary>
public class ImageFolderTests
{
    static readonly string Root = Path.Combine(Fixtures.Directory, "imagefolder");

    [Fact]
    public void ClassesAndSamplesAreTorchvisions()
    {
        var expected = Fixtures.Json("imagefolder.json");
        var dataset = new ImageFolder(Root);

        Assert.Equal(expected.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!), dataset.classes);
        Assert.Equal(expected.GetProperty("class_to_idx").EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetInt32())),
            dataset.class_to_idx.OrderBy(kv => kv.Value));
        var torchvisionSamples = expected.GetProperty("samples").EnumerateArray()
            .Select(s => (path: s[0].GetString()!, target: s[1].GetInt32())).ToList();
        // torchvision lists .ppm and .tiff files too; this library cannot decode them and names them instead.
        bool Decodable(string path) => !path.EndsWith(".ppm", StringComparison.Ordinal) && !path.EndsWith(".tiff", StringComparison.Ordinal);
        Assert.Equal(torchvisionSamples.Where(s => Decodable(s.path)), dataset.samples.Select(s => (Path.GetRelativePath(Root, s.path), s.target)));
        Assert.Equal(torchvisionSamples.Where(s => !Decodable(s.path)).Select(s => s.path), dataset.Skipped.Select(p => Path.GetRelativePath(Root, p)));
        Assert.Equal(dataset.samples.Select(s => s.target), dataset.targets);
    }

    [Fact]
    public void ErrorsNameTheFolderAndTheFix()
    {
        var root = Directory.CreateTempSubdirectory("imagefolder-");
        try
        {
            var missing = Path.Combine(root.FullName, "missing");
            Assert.Equal($"Image folder {missing} does not exist.", Assert.Throws<DirectoryNotFoundException>(() => new ImageFolder(missing)).Message);
            Assert.Equal($"Image folder {root.FullName} has no class folders: put each class's images in a sub-folder named after it.",
                Assert.Throws<ArgumentException>(() => new ImageFolder(root.FullName)).Message);

            Directory.CreateDirectory(Path.Combine(root.FullName, "cat"));
            File.Copy(Path.Combine(Root, "a_cat", "1.png"), Path.Combine(root.FullName, "cat", "1.png"));
            Directory.CreateDirectory(Path.Combine(root.FullName, "dog"));
            File.WriteAllText(Path.Combine(root.FullName, "dog", "readme.txt"), "");
            Directory.CreateDirectory(Path.Combine(root.FullName, "eel"));
            Assert.Equal($"Image folder {root.FullName} has no image in class folder(s) dog, eel. Supported extensions are: .jpg, .jpeg, .png, .bmp, .webp.",
                Assert.Throws<ArgumentException>(() => new ImageFolder(root.FullName)).Message);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    /// <summary>torchvision's os.walk(followlinks=True) would follow a link to a parent round and round: each real folder is walked once, and the link named.</summary>
    [Fact]
    public void LinksBackUpAreWalkedOnceAndNamed()
    {
        var root = Directory.CreateTempSubdirectory("imagefolder-");
        try
        {
            var cat = Directory.CreateDirectory(Path.Combine(root.FullName, "cat"));
            File.Copy(Path.Combine(Root, "a_cat", "1.png"), Path.Combine(cat.FullName, "1.png"));
            var loop = Directory.CreateSymbolicLink(Path.Combine(cat.FullName, "loop"), cat.FullName).FullName;
            var inner = Directory.CreateDirectory(Path.Combine(cat.FullName, "inner"));
            var up = Directory.CreateSymbolicLink(Path.Combine(inner.FullName, "up"), "..").FullName;

            var dataset = new ImageFolder(root.FullName);

            Assert.Equal([(Path.Combine(cat.FullName, "1.png"), 0)], dataset.samples);
            Assert.Equal([up, loop], dataset.RepeatedFolders.Order(StringComparer.Ordinal));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
