using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Transforms;

/// <summary>Decoding and the ImageClassification preset give PIL + torchvision's tensor exactly, JPEG and lossless alike.</summary>
public class PreprocessingParityTests
{
    static readonly Lazy<Dictionary<string, Tensor>> Expected = new(() => Fixtures.Arrays("preprocessing.npz"));

    public static TheoryData<string> Images => new(Fixtures.Strings(Fixtures.Cases.GetProperty("preprocessing")));

    static Tensor Preprocess(string name, int resize, InterpolationMode interpolation)
    {
        var image = ImageFile.Load(Path.Combine(Fixtures.Directory, "images", name));
        return new ImageClassification(crop_size: 224, resize_size: resize, interpolation: interpolation).forward(image);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void ImagesGiveTorchvisionsTensorExactly(string name)
    {
        foreach (var (resize, interpolation, key) in new[]
            { (256, InterpolationMode.Bilinear, name), (232, InterpolationMode.Bilinear, name + "@232"), (256, InterpolationMode.Bicubic, name + "@bicubic") })
        {
            using var actual = Preprocess(name, resize, interpolation);
            Assert.Equal(Expected.Value[key].shape, actual.shape);
            using var difference = (actual - Expected.Value[key]).abs().max();
            Assert.Equal(0f, difference.item<float>());
        }
    }

    [Theory]
    [InlineData("rocket_truncated.jpg", "JPEG")]
    [InlineData("truncated.jpg", "JPEG")]
    [InlineData("chelsea_truncated.png", "PNG")]
    public void TruncatedFilesAreNamed(string name, string format)
    {
        var path = Path.Combine(Fixtures.Directory, "images", name);
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Load(path));
        Assert.Equal($"{path} is truncated: its {format} data ends early. Copy or download it again.", e.Message);
    }

    [Fact]
    public void UnreadableFilesAreNamed()
    {
        var path = Path.Combine(Fixtures.Directory, "serialization", "random.bin");
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Load(path));
        Assert.Equal($"{path} is not a JPEG, PNG, BMP, GIF or WebP image.", e.Message);
    }

    [Fact]
    public void CorruptJpegIsNamed()
    {
        var path = Path.Combine(Fixtures.Directory, "images", "corrupt.jpg");
        var e = Assert.Throws<ImageFileException>(() => ImageFile.Load(path));
        Assert.Equal($"{path} is a corrupt JPEG image: libjpeg-turbo cannot read its header (InvalidInput). Copy or download it again.", e.Message);
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
        => Assert.Equal((expectedHeight, expectedWidth), ImageClassification.ResizedOutputSize(height, width, size));
}
