using TorchVisionModels.Onnx;

namespace TorchVisionModels.Tests.Onnx;

/// <summary>The export cache stays under its size: least recently used exports go first, never one held open.</summary>
public sealed class OnnxExportCacheTests : IDisposable
{
    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("onnx-cache-");

    string Export(string name, int megabytes, int minutesAgo)
    {
        var path = Path.Combine(directory.FullName, name);
        File.WriteAllBytes(path, new byte[megabytes << 20]);
        File.SetLastAccessTimeUtc(path, DateTime.UtcNow.AddMinutes(-minutesAgo));
        return path;
    }

    [Fact]
    public void TheLeastRecentlyUsedExportsGoFirstButNotOneInUse()
    {
        var oldest = Export("resnet50-a.onnx", 3, minutesAgo: 30);
        var inUse = Export("resnet50-b.onnx", 2, minutesAgo: 20);
        var older = Export("resnet18-c.onnx", 1, minutesAgo: 10);
        var newest = Export("resnet18-d.onnx", 2, minutesAgo: 0);
        var partial = Export(".resnet18-e.0123.partial", 5, minutesAgo: 40);

        using (new FileStream(inUse, FileMode.Open, FileAccess.Read, FileShare.Read))
            OnnxExportCache.Evict(directory.FullName, 2 << 20);

        Assert.Equal([partial, newest, inUse], directory.EnumerateFiles().Select(f => f.FullName).Order(StringComparer.Ordinal));
        Assert.False(File.Exists(oldest));
        Assert.False(File.Exists(older));
    }

    [Fact]
    public void UnderItsSizeNothingIsRemoved()
    {
        var files = new[] { Export("resnet50-a.onnx", 1, 30), Export("resnet50-b.onnx", 1, 0) };
        OnnxExportCache.Evict(directory.FullName, 2 << 20);
        Assert.All(files, f => Assert.True(File.Exists(f)));
    }

    public void Dispose() => directory.Delete(recursive: true);
}
