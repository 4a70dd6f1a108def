using System.Text.Json;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Transforms;

/// <summary>
/// The automatic augmentations against torchvision 0.14 on Pillow 9.4: every operation at every magnitude of the
/// spaces that use it gives Pillow's pixels exactly; TrivialAugmentWide, RandAugment and AutoAugment draw as
/// torchvision does from the same seed; RandomErasing and the reference's training preset give its tensors bit for bit.
/// </summary>
public class AugmentationParityTests
{
    static readonly Lazy<Dictionary<string, Tensor>> Expected = new(() => Fixtures.Arrays("augmentation.npz"));
    static readonly JsonElement Manifest = Fixtures.Json("augmentation.json");
    static readonly IEnumerable<ulong> Seeds = Manifest.GetProperty("seeds").EnumerateArray().Select(s => s.GetUInt64()).ToList();

    static RgbImage Image(string name) => ImageFile.Load(Fixtures.PathOf($"augment_{name}.png"));

    static byte[] Pixels(string key) => Expected.Value[key].data<byte>().ToArray();

    static string Differences(byte[] expected, RgbImage actual)
        => $"{expected.Zip(actual.Pixels).Count(p => p.First != p.Second)} of {expected.Length} values differ";

    public static TheoryData<string> ImageNames() => [.. Manifest.GetProperty("images").EnumerateArray().Select(i => i.GetString()!)];

    [Theory]
    [MemberData(nameof(ImageNames))]
    public void EveryOperationAtEveryMagnitudeGivesPillowsPixels(string name)
    {
        var image = Image(name);
        var failures = new List<string>();
        var cases = Manifest.GetProperty("ops").EnumerateArray().Where(c => c.GetProperty("image").GetString() == name).ToList();
        foreach (var c in cases)
        {
            var (op, magnitude) = (c.GetProperty("op").GetString()!, c.GetProperty("magnitude").GetDouble());
            var interpolation = Enum.Parse<InterpolationMode>(c.GetProperty("interpolation").GetString()!, ignoreCase: true);
            var actual = AugmentationOp.Apply(image, op, magnitude, interpolation);
            var expected = Pixels(c.GetProperty("key").GetString()!);
            if (!expected.AsSpan().SequenceEqual(actual.Pixels))
                failures.Add($"{op}({magnitude:R}, {interpolation}): {Differences(expected, actual)}");
        }
        Assert.True(cases.Count > 1000, $"{cases.Count} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} differ:\n{string.Join("\n", failures.Take(30))}");
    }

    [Theory]
    [MemberData(nameof(ImageNames))]
    public void AugMixOperationsAtEveryMagnitudeGiveTorchvisionsTensors(string name)
    {
        var image = Image(name);
        using var input = tensor(image.Pixels, [1, image.Height, image.Width, 3]).permute(0, 3, 1, 2);
        var failures = new List<string>();
        var cases = Manifest.GetProperty("tensor_ops").EnumerateArray().Where(c => c.GetProperty("image").GetString() == name).ToList();
        foreach (var c in cases)
        {
            var (op, magnitude) = (c.GetProperty("op").GetString()!, c.GetProperty("magnitude").GetDouble());
            var interpolation = Enum.Parse<InterpolationMode>(c.GetProperty("interpolation").GetString()!, ignoreCase: true);
            using var scope = NewDisposeScope();
            var actual = TensorOps.Apply(input, op, magnitude, interpolation).squeeze(0).permute(1, 2, 0).contiguous().data<byte>().ToArray();
            var expected = Pixels(c.GetProperty("key").GetString()!);
            if (!expected.AsSpan().SequenceEqual(actual))
                failures.Add($"{op}({magnitude:R}, {interpolation}): {expected.Zip(actual).Count(p => p.First != p.Second)} of {expected.Length} values differ");
        }
        Assert.True(cases.Count > 100, $"{cases.Count} cases");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} differ:\n{string.Join("\n", failures.Take(30))}");
    }

    public static TheoryData<string, string> Policies()
    {
        var data = new TheoryData<string, string>();
        foreach (var image in ImageNames())
        {
            foreach (var policy in Manifest.GetProperty("policies").EnumerateArray())
                data.Add(image, policy.GetString()!);
        }
        return data;
    }

    static RgbImage Augment(string policy, RgbImage image, Generator generator)
    {
        var (kind, interpolation) = (policy.Split('.')[0], Enum.Parse<InterpolationMode>(policy.Split('.')[1], ignoreCase: true));
        return kind switch
        {
            "ta_wide" => new TrivialAugmentWide(interpolation: interpolation).forward(image, generator),
            "ra" => new RandAugment(interpolation: interpolation).forward(image, generator),
            "augmix" => new AugMix(interpolation: interpolation).forward(image, generator),
            _ => new AutoAugment(Enum.Parse<AutoAugmentPolicy>(kind, ignoreCase: true), interpolation).forward(image, generator),
        };
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void PolicyDrawsAsTorchvisionFromTheSameSeed(string name, string policy)
    {
        var image = Image(name);
        foreach (var seed in Seeds)
        {
            using var generator = new Generator(seed);
            var actual = Augment(policy, image, generator);
            var expected = Pixels($"policy.{name}.{policy}.{seed}");
            Assert.True(expected.AsSpan().SequenceEqual(actual.Pixels), $"seed {seed}: {Differences(expected, actual)}");
        }
    }

    [Fact]
    public void MagnitudesAreTorchsToTheBit()
    {
        foreach (var space in Manifest.GetProperty("spaces").EnumerateObject())
        {
            var parts = space.Name.Split('.');
            var bins = int.Parse(parts[1]);
            var ops = parts[0] == "ta_wide"
                ? AugmentationOp.Wide(bins)
                : [new AugmentationOp("Identity", null, false), .. AugmentationOp.Standard(bins, int.Parse(parts[2].Split('x')[0]), int.Parse(parts[2].Split('x')[1]))];
            Assert.Equal(space.Value.EnumerateObject().Select(o => o.Name), ops.Select(o => o.Name));
            foreach (var op in ops)
            {
                var expected = space.Value.GetProperty(op.Name).EnumerateArray().Select(m => (float)m.GetDouble()).ToArray();
                Assert.True(expected.SequenceEqual((op.Magnitudes ?? []).Select(m => (float)m)), $"{space.Name} {op.Name}: {string.Join(" ", op.Magnitudes ?? [])}");
            }
        }
    }

    [Fact]
    public void AutoAugmentPoliciesAreTorchvisions()
    {
        foreach (var policy in Manifest.GetProperty("autoaugment_policies").EnumerateObject())
        {
            var expected = policy.Value.EnumerateArray().Select(pair => string.Join(" ", pair.EnumerateArray().Select(step =>
                $"{step[0].GetString()} {step[1].GetDouble():R} {(step[2].ValueKind == JsonValueKind.Null ? "-" : step[2].GetInt32().ToString())}")));
            var actual = AutoAugment.Policies(Enum.Parse<AutoAugmentPolicy>(policy.Name)).Select(pair => string.Join(" ", pair.Select(step =>
                $"{step.Name} {step.Probability:R} {step.Magnitude?.ToString() ?? "-"}")));
            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [MemberData(nameof(ImageNames))]
    public void RandomErasingDrawsAsTorchvision(string name)
    {
        var input = Expected.Value[$"erasing.{name}.input"];
        var erased = 0;
        foreach (var seed in Seeds)
        {
            using var generator = new Generator(seed);
            using var actual = new RandomErasing(0.5).forward(input, generator);
            var expected = Expected.Value[$"erasing.{name}.{seed}"];
            Assert.True(Fixtures.BitIdentical(expected, actual), $"seed {seed}");
            erased += Fixtures.BitIdentical(expected, input) ? 0 : 1;
        }
        Assert.InRange(erased, 1, Seeds.Count() - 1);
    }

    public static TheoryData<string, string, int, double> Presets()
    {
        var data = new TheoryData<string, string, int, double>();
        foreach (var preset in Manifest.GetProperty("presets").EnumerateArray())
            data.Add(preset.GetProperty("policy").GetString()!, preset.GetProperty("interpolation").GetString()!, preset.GetProperty("crop").GetInt32(),
                preset.GetProperty("random_erase_prob").GetDouble());
        return data;
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void TrainingPresetWithAugmentationGivesTorchvisionsTensor(string policy, string interpolation, int crop, double randomErase)
    {
        var image = Image("preset");
        var preset = new ClassificationPresetTrain(crop)
        {
            auto_augment_policy = policy,
            random_erase_prob = randomErase,
            interpolation = Enum.Parse<InterpolationMode>(interpolation, ignoreCase: true),
        };
        foreach (var seed in Seeds)
        {
            using var generator = new Generator(seed);
            using var actual = preset.forward(image, generator);
            Assert.True(Fixtures.BitIdentical(Expected.Value[$"preset.{policy}.{interpolation}.{seed}"], actual), $"seed {seed}");
        }
    }

    [Fact]
    public void AnUnknownPolicyIsRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new ClassificationPresetTrain(32) { auto_augment_policy = "augmax" });
        Assert.StartsWith("auto_augment_policy augmax is not one of ra, ta_wide, augmix, imagenet, cifar10, svhn", e.Message);
    }
}
