using System.Text.Json;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TestSupport;

/// <summary>
/// The cases the fixture generator wrote (its cases.json): the same builders and options, and the same weights,
/// rebuilt from the seed and proven bit-identical to PyTorch's by the digests it wrote, so the fixtures need not
/// hold the weights themselves.
/// </summary>
static class ModelCases
{
    const long Seed = 0;

    /// <summary>The names of one area's cases ("init", "forward", "training"), for a theory's MemberData.</summary>
    public static TheoryData<string> Names(string area) => new(CaseNames(area));

    /// <summary>The names of one area's cases, in the generator's order.</summary>
    public static IEnumerable<string> CaseNames(string area) => Fixtures.Cases.GetProperty(area).EnumerateObject().Select(p => p.Name);

    /// <summary>One case's entry in cases.json.</summary>
    public static JsonElement Case(string area, string name) => Fixtures.Cases.GetProperty(area).GetProperty(name);

    /// <summary>The training cases' optimizers and their torch.optim keyword arguments.</summary>
    public static IReadOnlyDictionary<string, JsonElement> Optimizers => Fixtures.Cases.GetProperty("optimizers").EnumerateObject().ToDictionary(p => p.Name, p => p.Value);

    /// <summary>torchvision's builders, as the generator listed them.</summary>
    public static IEnumerable<string> TorchvisionArchitectures => Fixtures.Strings(Fixtures.Cases.GetProperty("architectures"));

    /// <summary>An init case's model, drawn from the seed as torchvision draws it.</summary>
    public static ResNet Initial(string name)
    {
        manual_seed(Seed);
        return Build(Case("init", name));
    }

    /// <summary>A forward case's model with PyTorch's weights (its initialisation, then randomize_norms with seed + 1).</summary>
    public static ResNet Forward(string name) => Seeded(Case("forward", name), 1, $"forward_{name}.weights.json");

    /// <summary>A training case's model with PyTorch's initial weights (randomize_norms with seed + 3).</summary>
    public static ResNet Training(string name) => Seeded(Case("training", name), 3, $"training_{name}.weights.json");

    /// <summary>The loader tests' small ResNet (randomize_norms with seed + 2), whose state dict serialization/ holds in every wrapping and dtype.</summary>
    public static ResNet Serialization() => Seeded(Fixtures.Cases.GetProperty("serialization"), 2, SerializationDigests);

    /// <summary>A fresh model of <see cref="Serialization"/>'s architecture, to load the files into.</summary>
    public static ResNet NewSerializationModel() => Build(Fixtures.Cases.GetProperty("serialization"));

    /// <summary>The digests of <see cref="Serialization"/>'s state dict.</summary>
    public static readonly string SerializationDigests = Path.Combine("serialization", "small.json");

    static ResNet Seeded(JsonElement entry, long generatorOffset, string digests)
    {
        manual_seed(Seed);
        var model = Build(entry);
        RandomizeNorms(model, new Generator(seed: (ulong)(Seed + generatorOffset)));
        AssertDigests(model, digests);
        return model;
    }

    /// <summary>
    /// A case's model, as the generator's build() makes it: a builder by name ("arch") or the ResNet class with a
    /// block and layers, and the options, a norm layer by name.
    /// </summary>
    static ResNet Build(JsonElement entry)
    {
        var options = entry.TryGetProperty("options", out var o) ? o : default;
        bool Has(string name) => options.ValueKind == JsonValueKind.Object && options.TryGetProperty(name, out _);
        long? numClasses = Has("num_classes") ? options.GetProperty("num_classes").GetInt64() : null;
        var zeroInit = Has("zero_init_residual") && options.GetProperty("zero_init_residual").GetBoolean();
        var dilation = Has("replace_stride_with_dilation") ? options.GetProperty("replace_stride_with_dilation").EnumerateArray().Select(b => b.GetBoolean()).ToList() : null;
        var norm = Has("norm_layer") ? NormLayers[options.GetProperty("norm_layer").GetString()!] : null;
        if (entry.TryGetProperty("arch", out var arch))
            return torchvision.models.get_model_builder(arch.GetString()!)(num_classes: numClasses, zero_init_residual: zeroInit,
                replace_stride_with_dilation: dilation, norm_layer: norm);
        var block = entry.GetProperty("block").GetString() == "BasicBlock" ? BasicBlock.type : Bottleneck.type;
        return new ResNet(block, entry.GetProperty("layers").EnumerateArray().Select(l => l.GetInt64()).ToList(), numClasses ?? 1000,
            zeroInit, replace_stride_with_dilation: dilation, norm_layer: norm);
    }

    /// <summary>The generator's NORM_LAYERS.</summary>
    static readonly Dictionary<string, NormLayer> NormLayers = new()
    {
        ["GroupNorm32"] = c => TorchSharp.torch.nn.GroupNorm(32, c),
        ["FrozenBatchNorm2d"] = c => new FrozenBatchNorm2d(c),
    };

    /// <summary>The generator's randomize_norms: random affine parameters and running statistics, module by module in PyTorch's order.</summary>
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
        var different = expected.Where(e => !actual[e.key].shape.SequenceEqual(e.shape) || DtypeName(actual[e.key]) != e.dtype || Fixtures.Sha256(actual[e.key]) != e.sha256)
            .Select(e => e.key).ToList();
        Assert.True(different.Count == 0, $"{digests}: not PyTorch's bytes: {string.Join(", ", different)}");
    }

    /// <summary>Writes the model's state dict as the generator's digests, for a check in PyTorch that reads no file of ours but the one under test.</summary>
    public static void WriteDigests(nn.Module model, string path)
    {
        var rows = model.state_dict().Select(kv => new object[] { kv.Key, DtypeName(kv.Value), kv.Value.shape, Fixtures.Sha256(kv.Value) });
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(rows));
    }

    static string DtypeName(Tensor t) => t.dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Int64 => "int64",
        var other => other.ToString(),
    };
}
