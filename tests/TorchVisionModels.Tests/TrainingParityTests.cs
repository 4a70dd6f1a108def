using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests;

/// <summary>
/// Training matches PyTorch: from the same weights and batch, the train-mode output and BatchNorm statistics,
/// every gradient of cross_entropy, and the parameters after SGD (two steps, so momentum acts) and AdamW. PyTorch ran
/// these in float64 (in float32 they are ill-conditioned: its own float32 gradients are up to 9e-2 from float64's), so
/// the port runs them in float64 too, and its float32 gradients are held to PyTorch's float32 error instead.
/// </summary>
public class TrainingParityTests
{
    public static TheoryData<string> Architectures => new("resnet18", "resnet50", "resnext50_32x4d");

    // Each tensor's largest difference relative to its own largest value. The expected values are float64 results
    // stored as float32, so they carry float32's rounding (6e-8) and nothing else; measured: at most 1.2e-7.
    const double Tolerance = 1e-6;

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ForwardBackwardMatch(string architecture)
    {
        var expected = Fixtures.Tensors($"training_{architecture}.expected.pt");
        using var model = Load(architecture);
        using var scope = NewDisposeScope();

        model.train();
        var output = model.call(expected["input"].to(float64));
        var loss = nn.functional.cross_entropy(output, expected["target"]);
        loss.backward();

        AssertClose("output", output, expected["output"]);
        AssertClose("loss", loss, expected["loss"]);
        foreach (var (key, buffer) in model.state_dict().Where(kv => kv.Key.Contains("running_") || kv.Key.Contains("num_batches_tracked")))
            AssertClose(key, buffer, expected["buffers." + key]);
        foreach (var (key, parameter) in model.named_parameters())
            AssertClose("grad of " + key, parameter.grad!, expected["grad." + key]);
        Fixtures.DisposeAll(expected.Values);
    }

    /// <summary>
    /// In float32 (oneDNN's kernels, or matrix products for 1x1 convolutions where those are broken), every gradient
    /// is as close to the exact one as PyTorch's float32 gradient is.
    /// </summary>
    [Theory]
    [MemberData(nameof(Architectures))]
    public void Float32GradientsAreAsAccurateAsPyTorchs(string architecture)
        => ChildProcess.Run(Float32GradientsInThisProcess, architecture); // oneDNN's 1x1 backward crashes on AMD (PointwiseConvolution)

    static void Float32GradientsInThisProcess(string[] arguments)
    {
        var architecture = arguments[0];
        var expected = Fixtures.Tensors($"training_{architecture}.expected.pt");
        using var model = ModelCases.Build(architecture);
        Fixtures.LoadInto(model, $"training_{architecture}.weights.pt");
        using var scope = NewDisposeScope();

        model.train();
        nn.functional.cross_entropy(model.call(expected["input"]), expected["target"]).backward();

        // The whole backward pass is ill-conditioned, so rounding anywhere reaches every gradient: the scale is
        // PyTorch's worst float32 gradient error over the model, not the error it happened to make on each tensor.
        var pytorchError = expected.Where(kv => kv.Key.StartsWith("error32.")).Max(kv => kv.Value.item<double>());
        foreach (var (key, parameter) in model.named_parameters())
            Fixtures.AssertFloat32Close("grad of " + key, parameter.grad!, expected["grad." + key], pytorchError);
        Fixtures.DisposeAll(expected.Values);
    }

    public static TheoryData<string, string> Optimizers => new()
    {
        { "resnet18", "sgd" }, { "resnet50", "sgd" }, { "resnext50_32x4d", "sgd" },
        { "resnet18", "adamw" }, { "resnet50", "adamw" }, { "resnext50_32x4d", "adamw" },
    };

    /// <summary>The update rules, isolated: each step is given the gradients PyTorch's step used.</summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void StepsMatchGivenPyTorchsGradients(string architecture, string optimizer)
    {
        var expected = Fixtures.Tensors($"training_{architecture}.expected.pt");
        using var model = Load(architecture);
        using var step = Optimizer(optimizer, model.parameters());
        foreach (var k in new[] { 1, 2 })
        {
            using (no_grad())
            {
                foreach (var (key, parameter) in model.named_parameters())
                    parameter.grad = expected[$"{optimizer}.grad{k}.{key}"].to(float64);
            }
            step.step();
            foreach (var (key, parameter) in model.named_parameters())
                AssertClose($"{optimizer} step {k} {key}", parameter, expected[$"{optimizer}.step{k}.{key}"]);
        }
        Fixtures.DisposeAll(expected.Values);
    }

    /// <summary>End to end: our own forward, backward and first step from the same weights and batch.</summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void FirstStepMatchesEndToEnd(string architecture, string optimizer)
    {
        var expected = Fixtures.Tensors($"training_{architecture}.expected.pt");
        using var model = Load(architecture);
        model.train();
        using var step = Optimizer(optimizer, model.parameters());
        using (var scope = NewDisposeScope())
        {
            step.zero_grad();
            nn.functional.cross_entropy(model.call(expected["input"].to(float64)), expected["target"]).backward();
            step.step();
        }
        foreach (var (key, parameter) in model.named_parameters())
        {
            var reference = expected[$"{optimizer}.step1.{key}"];
            if (optimizer == "sgd")
            {
                AssertClose($"sgd {key}", parameter, reference);
                continue;
            }
            // AdamW's first update is lr * g / (|g| + eps), about lr * sign(g): where a gradient is zero up to float
            // noise, its sign is noise and so is a full lr-sized step (measured: up to 8e-3 relative on bn1.bias).
            // So compare where |g| exceeds 1e-4 of its tensor's largest (15x the worst gradient noise measured,
            // 7e-6), and elsewhere require only that the two steps stay within 2 lr of each other.
            using var scope = NewDisposeScope();
            var gradient = expected[$"adamw.grad1.{key}"].abs();
            using var threshold = 1e-4.ToScalar();
            var resolved = gradient > gradient.max().mul(threshold);
            AssertClose($"adamw {key} (resolved gradients)", parameter.masked_select(resolved), reference.masked_select(resolved));
            var noise = (parameter - reference).abs().masked_select(resolved.logical_not());
            Assert.True(noise.numel() == 0 || noise.max().item<double>() <= 2 * 1e-3 * (1 + 1e-6), $"adamw {key}: a noise-level gradient moved a parameter more than 2 lr");
        }
        Fixtures.DisposeAll(expected.Values);
    }

    static OptimizerHelper Optimizer(string name, IEnumerable<Parameter> parameters) => name switch
    {
        "sgd" => optim.SGD(parameters, learningRate: 0.1, momentum: 0.9, weight_decay: 1e-4),
        _ => optim.AdamW(parameters, lr: 1e-3, weight_decay: 1e-2),
    };

    /// <summary>The case's initial weights, in float64.</summary>
    static ResNet Load(string architecture)
    {
        var model = ModelCases.Build(architecture);
        Fixtures.LoadInto(model, $"training_{architecture}.weights.pt");
        model.to(float64);
        return model;
    }

    static void AssertClose(string what, Tensor actual, Tensor expected, double tolerance = Tolerance)
    {
        Assert.Equal(expected.shape, actual.shape);
        var error = Fixtures.RelativeError(actual, expected);
        Assert.True(error <= tolerance, $"{what}: relative error {error:E2} exceeds {tolerance:E0}");
    }
}
