using TorchSharp.Modules;
using TorchVisionModels.Serialization;
using TorchVisionModels.Training;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Training;

/// <summary>A checkpoint saved mid-training resumes to exactly the uninterrupted run, here and in PyTorch.</summary>
public class TrainingCheckpointTests
{
    static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");

    static OptimizerHelper Optimizer(string name, ResNet model) => name == "sgd"
        ? optim.SGD(model.parameters(), learningRate: 0.05, momentum: 0.9, weight_decay: 1e-4)
        : optim.AdamW(model.parameters(), lr: 1e-3, weight_decay: 1e-2);

    static void Step(ResNet model, OptimizerHelper optimizer)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed: 7);
        var x = rand([2, 3, 64, 64], generator: generator);
        optimizer.zero_grad();
        nn.functional.cross_entropy(model.call(x), tensor(new long[] { 1, 2 })).backward();
        optimizer.step();
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adamw")]
    public void ResumeReproducesTheUninterruptedRun(string name)
    {
        using var uninterrupted = torchvision.models.resnet18();
        uninterrupted.load_state_dict(Weights);
        using var optimizer = Optimizer(name, uninterrupted);
        Step(uninterrupted, optimizer);
        Step(uninterrupted, optimizer);

        var path = Path.Combine(Path.GetTempPath(), $"checkpoint-{Guid.NewGuid():N}.pth");
        try
        {
            using (var first = torchvision.models.resnet18())
            {
                first.load_state_dict(Weights);
                using var firstOptimizer = Optimizer(name, first);
                Step(first, firstOptimizer);
                TrainingCheckpoint.Save(path, first, firstOptimizer, epoch: 1, new Dictionary<string, string> { ["arch"] = "resnet18" });
            }

            using var resumed = torchvision.models.resnet18();
            using var resumedOptimizer = Optimizer(name, resumed);
            var (epoch, metadata) = TrainingCheckpoint.Load(path, resumed, resumedOptimizer);
            Step(resumed, resumedOptimizer);

            Assert.Equal(1, epoch);
            Assert.Equal("resnet18", metadata["arch"]);
            Assert.All(resumed.state_dict(), kv => Assert.True(Fixtures.BitIdentical(kv.Value, uninterrupted.state_dict()[kv.Key]), kv.Key));

            var (exitCode, output) = Fixtures.RunPython("check_state_dict.py", path, "--model", "resnet18", "--optimizer", name);
            Assert.True(exitCode == 0, output);
            Assert.StartsWith($"ok epoch=1 lr={(name == "sgd" ? "0.05" : "0.001")}", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AStateDictIsNotATrainingCheckpoint()
    {
        using var model = torchvision.models.resnet18();
        using var optimizer = Optimizer("sgd", model);
        var e = Assert.Throws<CheckpointException>(() => TrainingCheckpoint.Load(Weights, model, optimizer));
        Assert.Equal($"{Weights} is not a training checkpoint: it has no \"epoch\".", e.Message);
    }
}
