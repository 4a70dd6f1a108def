using TorchVisionModels.Transforms;

namespace TorchVisionModels.Tests.Transforms;

/// <summary>Images made to exhaust memory: preprocessed in bounded memory, or refused before they inflate, as Pillow refuses them.</summary>
public class HostileImageTests
{
    static string PathOf(string name) => Fixtures.PathOf(Path.Combine("hostile", name));

    /// <summary>
    /// Resize(256) makes a 100000x1 strip 25,600,000x256 pixels (19 GB), which Pillow would allocate whole before
    /// cropping; only the crop is resampled here (bit for bit the same: the JPEG corpus's 4001x3 checks it against
    /// Pillow's), so the whole run allocates little more than the decoded strip and the crop.
    /// </summary>
    public static TheoryData<string> Strips => new(Fixtures.Strings(Fixtures.Cases.GetProperty("hostile").GetProperty("strips")));

    public static TheoryData<string, string> Bombs()
    {
        var data = new TheoryData<string, string>();
        foreach (var bomb in Fixtures.Cases.GetProperty("hostile").GetProperty("bombs").EnumerateObject())
            data.Add(bomb.Name, bomb.Value.GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Strips))]
    public void StripsPreprocessInBoundedMemory(string name)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var image = ImageFile.Load(PathOf(name));
        using var tensor = new ImageClassification(crop_size: 224).forward(image);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal([3, 224, 224], tensor.shape);
        Assert.True(allocated < 32 << 20, $"{allocated:N0} bytes allocated");
    }

    [Theory]
    [MemberData(nameof(Bombs))]
    public void CompressedChunkBombsAreRefusedBeforeTheyInflate(string name, string chunk)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Load(PathOf(name)));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal($"{PathOf(name)} has a PNG {chunk} chunk that decompresses to more than 1 MB: a decompression bomb, which Pillow refuses too. Re-save the image without its metadata.", e.Message);
        Assert.True(allocated < 8 << 20, $"{allocated:N0} bytes allocated");
    }
}
