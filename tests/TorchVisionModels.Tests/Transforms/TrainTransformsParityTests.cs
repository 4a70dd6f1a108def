using System.Text.Json;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Transforms;

/// <summary>
/// RandomResizedCrop, RandomHorizontalFlip and the training preset draw the same random numbers as torchvision's
/// and give PIL + torchvision's tensor bit for bit, for a photo, a Fashion-MNIST image and the fallback crop.
/// </summary>
public class TrainTransformsParityTests
{
    static readonly Lazy<Dictionary<string, Tensor>> Expected = new(() => Fixtures.Arrays("train_transforms.npz"));

    static JsonElement Cases => Fixtures.Cases.GetProperty("train_transforms");

    static IEnumerable<ulong> Seeds => Cases.GetProperty("seeds").EnumerateArray().Select(s => s.GetUInt64());

    public static TheoryData<string, int, double> Images()
    {
        var data = new TheoryData<string, int, double>();
        foreach (var image in Cases.GetProperty("images").EnumerateObject())
            data.Add(image.Name, image.Value.GetProperty("crop").GetInt32(), image.Value.GetProperty("min_scale").GetDouble());
        return data;
    }

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
