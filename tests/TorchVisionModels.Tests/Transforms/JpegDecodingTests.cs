using System.Text.Json;
using TorchVisionModels.Transforms;

namespace TorchVisionModels.Tests.Transforms;

/// <summary>
/// JPEG decodes to Pillow's pixels bit for bit, and preprocesses to torchvision's tensor bit for bit, over a corpus
/// Pillow made (every subsampling, qualities 50 to 100, progressive, restart intervals, grayscale, CMYK, odd sizes,
/// EXIF orientations; the generator's jpeg.py).
/// </summary>
public class JpegDecodingTests
{
    static readonly Lazy<JsonElement> Expected = new(() => Fixtures.Json("jpeg.json"));

    public static TheoryData<string> Corpus => new(Fixtures.Strings(Fixtures.Cases.GetProperty("jpeg")));

    public static TheoryData<string> Oriented => new(Fixtures.Strings(Fixtures.Cases.GetProperty("jpeg")).Where(name => name.StartsWith("exif_")));

    static string PathOf(string name) => Fixtures.PathOf(Path.Combine("jpeg", name));

    static void AssertPillows(RgbImage image, string name, string key)
    {
        var expected = Expected.Value.GetProperty(name);
        var shape = expected.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
        if (key == "rgb")
            Assert.Equal([shape[0], shape[1]], new[] { image.Height, image.Width });
        Assert.Equal(expected.GetProperty(key).GetString(), Fixtures.Sha256(image.Pixels));
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void DecodesToPillowsPixels(string name) => AssertPillows(ImageFile.Load(PathOf(name)), name, "rgb");

    [Theory]
    [MemberData(nameof(Corpus))]
    public void PreprocessesToTorchvisionsTensor(string name)
    {
        var image = ImageFile.Load(PathOf(name));
        foreach (var resize in new[] { 256, 232 })
        {
            using var tensor = new ImageClassification(crop_size: 224, resize_size: resize).forward(image);
            Assert.Equal(Expected.Value.GetProperty(name).GetProperty($"tensor{resize}").GetString(), Fixtures.Sha256(tensor));
        }
    }

    [Theory]
    [MemberData(nameof(Oriented))]
    public void ExifOrientationIsPillowsExifTranspose(string name)
        => AssertPillows(ImageFile.Load(PathOf(name), applyExifOrientation: true), name, "exif_transposed");
}
