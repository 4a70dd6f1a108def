using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Transforms;

/// <summary>
/// RandomResizedCrop, RandomHorizontalFlip and the training preset draw the same random numbers as torchvision's
/// and give PIL + torchvision's tensor bit for bit, for a photo, a Fashion-MNIST image and the fallback crop.
/// </summary>
public class TrainTransformsParityTests
{
    static readonly Lazy<Dictionary<string, Tensor>> Expected = new(() => Fixtures.Tensors("train_transforms.pt"));

    static readonly ulong[] Seeds = [0, 1, 7, 12345, (1UL << 40) + 3, ulong.MaxValue - 58];

    public static TheoryData<string, int, double> Images => new()
    {
        { "chelsea", 224, 0.08 },
        { "fashion", 32, 0.5 },
        { "sliver", 32, 0.9 },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void CropParametersAreTorchvisions(string name, int crop, double minScale)
    {
        _ = crop;
        var image = ImageFile.Load(Fixtures.PathOf($"transforms_{name}.png"));
        foreach (var seed in Seeds)
        {
            using var generator = new Generator(seed);
            var (top, left, height, width) = RandomResizedCrop.get_params(image.Width, image.Height, (minScale, 1.0), (3.0 / 4, 4.0 / 3), generator);
            Assert.Equal(Expected.Value[$"{name}.{seed}.params"].data<long>().ToArray(), new long[] { top, left, height, width });
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void PresetGivesTorchvisionsTensorExactly(string name, int crop, double minScale)
    {
        var image = ImageFile.Load(Fixtures.PathOf($"transforms_{name}.png"));
        var preset = new ClassificationPresetTrain(crop) { scale = (minScale, 1.0) };
        foreach (var seed in Seeds)
        {
            using var generator = new Generator(seed);
            using var actual = preset.forward(image, generator);
            Assert.True(Fixtures.BitIdentical(Expected.Value[$"{name}.{seed}.tensor"], actual), $"{name}, seed {seed}");
        }
    }

    [Fact]
    public void HorizontalFlipMirrorsEachRow()
    {
        var image = new RgbImage(3, 2, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]);
        Assert.Equal([7, 8, 9, 4, 5, 6, 1, 2, 3, 16, 17, 18, 13, 14, 15, 10, 11, 12], RandomHorizontalFlip.hflip(image).Pixels);
    }
}
