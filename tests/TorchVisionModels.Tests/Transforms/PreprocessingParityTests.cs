using TorchVisionModels.Transforms;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Transforms;

/// <summary>Decoding and the ImageClassification preset give PIL + torchvision's tensor: exactly for lossless files.</summary>
public class PreprocessingParityTests(ITestOutputHelper output)
{
    static readonly Lazy<Dictionary<string, Tensor>> Expected = new(() => Fixtures.Arrays("preprocessing.npz"));

    public static TheoryData<string> Lossless => new(Fixtures.Strings(Fixtures.Cases.GetProperty("preprocessing").GetProperty("lossless")));

    public static TheoryData<string> Jpeg => new(Fixtures.Strings(Fixtures.Cases.GetProperty("preprocessing").GetProperty("jpeg")));

    static Tensor Preprocess(string name, int resize)
    {
        var image = ImageFile.Load(Path.Combine(Fixtures.Directory, "images", name));
        return new ImageClassification(crop_size: 224, resize_size: resize).forward(image);
    }

    [Theory]
    [MemberData(nameof(Lossless))]
    public void LosslessImagesGiveTorchvisionsTensorExactly(string name)
    {
        foreach (var (resize, key) in new[] { (256, name), (232, name + "@232") })
        {
            using var actual = Preprocess(name, resize);
            Assert.Equal(Expected.Value[key].shape, actual.shape);
            using var difference = (actual - Expected.Value[key]).abs().max();
            Assert.Equal(0f, difference.item<float>());
        }
    }

    [Theory]
    [MemberData(nameof(Jpeg))]
    public void JpegDiffersOnlyByTheDecoder(string name)
    {
        using var actual = Preprocess(name, 256);
        var expected = Expected.Value[name];
        using var difference = (actual - expected).abs();
        var max = difference.max().item<float>();
        var mean = difference.mean().item<float>();
        output.WriteLine($"{name}: max {max:F4}, mean {mean:F4} (normalised units)");
        // Measured, ImageSharp 2.1.13 against Pillow 9.4's libjpeg-turbo: mean at most 0.0068, max at most 0.35
        // (coffee.jpg: a few pixels on saturated red edges, where the two decoders upsample chroma differently).
        Assert.InRange(mean, 0, 0.01);
        Assert.InRange(max, 0, 0.5);

        using var model = ModelCases.Forward("resnet18");
        model.eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var ours = model.call(actual.unsqueeze(0)).topk(5).indexes;
        var theirs = model.call(expected.unsqueeze(0)).topk(5).indexes;
        Assert.Equal(theirs.data<long>().ToArray(), ours.data<long>().ToArray());
    }

    [Theory]
    [InlineData("rocket_truncated.jpg", "JPEG")]
    [InlineData("chelsea_truncated.png", "PNG")]
    public void TruncatedFilesAreNamed(string name, string format)
    {
        var path = Path.Combine(Fixtures.Directory, "images", name);
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Load(path));
        Assert.Equal($"{path} is truncated: its {format} data ends early. Copy or download it again.", e.Message);
    }

    [Theory]
    [InlineData("serialization/random.bin", ".")]
    [InlineData("images/truncated.jpg", ", or is corrupt: ")]
    public void UnreadableFilesAreNamed(string name, string reason)
    {
        var path = Path.Combine(Fixtures.Directory, name);
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Load(path));
        Assert.StartsWith($"{path} is not a JPEG, PNG, BMP, GIF or WebP image{reason}", e.Message);
    }

    [Fact]
    public void TiffIsNotDecoded()
    {
        var path = Path.Combine(Fixtures.Directory, "images", "chelsea.tif");
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Load(path));
        Assert.Equal($"{path} is not a JPEG, PNG, BMP, GIF or WebP image.", e.Message);
    }

    [Fact]
    public void HugeImagesAreRefusedBeforeDecoding()
    {
        var path = Path.Combine(Fixtures.Directory, "images", "huge.png");
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Load(path));
        Assert.Equal($"{path} is 10000x9000 pixels, more than the 89,478,485 this program decodes (PIL's limit too). Downscale it first.", e.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Load("/nonexistent/cat.png"));
        Assert.Equal("/nonexistent/cat.png does not exist.", e.Message);
    }

    [Theory]
    [InlineData(300, 451, 256, 256, 384)]
    [InlineData(451, 300, 256, 384, 256)]
    [InlineData(427, 640, 232, 232, 347)]
    [InlineData(100, 100, 256, 256, 256)]
    public void ResizedSizeTruncatesLikeTorchvision(int height, int width, int size, int expectedHeight, int expectedWidth)
        => Assert.Equal((expectedHeight, expectedWidth), ImageClassification.resized_output_size(height, width, size));
}
