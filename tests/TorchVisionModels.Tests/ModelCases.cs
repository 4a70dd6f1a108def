using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>
/// The C# side of the cases scripts/export_weights.py writes: the same builder and options, and the same weights,
/// rebuilt from the seed and proven bit-identical to PyTorch's by the digests it wrote (so the fixtures need not
/// hold the weights themselves).
/// </summary>
static class ModelCases
{
    const long Seed = 0;

    /// <summary>A forward case's model with PyTorch's weights (its initialisation, then randomize_norms with seed + 1).</summary>
    public static ResNet Forward(string name) => Seeded(name, 1, $"forward_{name}.weights.json");

    /// <summary>A training case's model with PyTorch's initial weights (randomize_norms with seed + 3).</summary>
    public static ResNet Training(string architecture) => Seeded(architecture, 3, $"training_{architecture}.weights.json");

    /// <summary>The loader tests' resnet18 (randomize_norms with seed + 2), whose state dict serialization/ holds in every format.</summary>
    public static ResNet Serialization() => Seeded("resnet18", 2, Path.Combine("serialization", "resnet18.json"));

    static ResNet Seeded(string name, long generatorOffset, string digests)
    {
        manual_seed(Seed);
        var model = Case(name);
        RandomizeNorms(model, new Generator(seed: (ulong)(Seed + generatorOffset)));
        AssertDigests(model, digests);
        return model;
    }

    /// <summary>export_weights.py's randomize_norms: random affine parameters and running statistics, module by module in PyTorch's order.</summary>
    static void RandomizeNorms(ResNet model, Generator generator)
    {
        using var _ = no_grad();
        void Fill(Tensor t, double low, double high)
        {
            using var scope = NewDisposeScope();
            t.copy_(rand(t.shape, generator: generator) * (high - low) + low);
        }
        foreach (var m in model.modules().Where(m => m is BatchNorm or GroupNorm or FrozenBatchNorm2d))
        {
            Fill(m.get_parameter("weight") ?? m.get_buffer("weight")!, 0.75, 1.25);
            Fill(m.get_parameter("bias") ?? m.get_buffer("bias")!, -0.25, 0.25);
            if (m is GroupNorm)
                continue;
            Fill(m.get_buffer("running_mean")!, -0.25, 0.25);
            Fill(m.get_buffer("running_var")!, 0.5, 1.5);
        }
    }

    /// <summary>Asserts the model's state dict is PyTorch's: the same keys in the same order, dtypes, shapes and bytes.</summary>
    public static void AssertDigests(nn.Module model, string digests)
    {
        var expected = Fixtures.Json(digests).EnumerateArray().Select(row => row.EnumerateArray().ToArray())
            .Select(r => (key: r[0].GetString()!, dtype: r[1].GetString()!, shape: r[2].EnumerateArray().Select(d => d.GetInt64()).ToArray(), sha256: r[3].GetString()!))
            .ToList();
        var actual = model.state_dict();
        Assert.Equal(expected.Select(e => e.key), actual.Keys);
        var different = expected.Where(e => !actual[e.key].shape.SequenceEqual(e.shape) || DtypeName(actual[e.key]) != e.dtype || Sha256(actual[e.key]) != e.sha256)
            .Select(e => e.key).ToList();
        Assert.True(different.Count == 0, $"{digests}: not PyTorch's bytes: {string.Join(", ", different)}");
    }

    /// <summary>Writes the model's state dict as export_weights.py's digests, for a check in PyTorch that reads no file of ours but the one under test.</summary>
    public static void WriteDigests(nn.Module model, string path)
    {
        var rows = model.state_dict().Select(kv => new object[] { kv.Key, DtypeName(kv.Value), kv.Value.shape, Sha256(kv.Value) });
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(rows));
    }

    static string DtypeName(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Int64 => "int64",
        var other => other.ToString(),
    };

    /// <summary>SHA-256 of the tensor's little-endian bytes, as numpy's tobytes() gives them.</summary>
    static string Sha256(Tensor t)
    {
        using var c = t.contiguous();
        var bytes = t.dtype switch
        {
            ScalarType.Float32 => MemoryMarshal.AsBytes(c.data<float>().ToArray().AsSpan()).ToArray(),
            ScalarType.Int64 => MemoryMarshal.AsBytes(c.data<long>().ToArray().AsSpan()).ToArray(),
            var other => throw new NotSupportedException($"no digest for {other}"),
        };
        return Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    public static readonly string[] Architectures =
    [
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
        "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
    ];

    public static ResNet Build(string architecture, long? num_classes = null, bool zero_init_residual = false,
        IReadOnlyList<bool>? replace_stride_with_dilation = null, NormLayer? norm_layer = null)
        => torchvision.models.get_model_builder(architecture)(num_classes: num_classes, zero_init_residual: zero_init_residual,
            replace_stride_with_dilation: replace_stride_with_dilation, norm_layer: norm_layer);

    static readonly NormLayer GroupNorm32 = c => TorchSharp.torch.nn.GroupNorm(32, c);
    static readonly NormLayer Frozen = c => new FrozenBatchNorm2d(c);

    /// <summary>Named cases of scripts/export_weights.py's INIT_CASES and FORWARD_CASES.</summary>
    public static ResNet Case(string name) => name switch
    {
        "resnet18" or "resnet18_nonsquare" => Build("resnet18"),
        "resnet34" or "resnet50" or "resnet101" or "resnet152" or "resnext50_32x4d" or "resnext101_32x8d"
            or "resnext101_64x4d" or "wide_resnet50_2" or "wide_resnet101_2" => Build(name),
        "resnet18_zero_init_residual" => Build("resnet18", zero_init_residual: true),
        "resnet50_zero_init_residual" => Build("resnet50", zero_init_residual: true),
        "resnet50_dilation_ftt" => Build("resnet50", replace_stride_with_dilation: [false, true, true]),
        "resnet18_groupnorm" => Build("resnet18", norm_layer: GroupNorm32),
        "resnet18_frozenbn" => Build("resnet18", norm_layer: Frozen),
        "resnet18_num_classes_10" => Build("resnet18", num_classes: 10),
        "resnet50_num_classes_10" => Build("resnet50", num_classes: 10),
        _ => throw new ArgumentException($"unknown case {name}"),
    };
}
