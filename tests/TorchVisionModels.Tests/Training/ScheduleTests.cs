using TorchVisionModels.Training;

namespace TorchVisionModels.Tests.Training;

/// <summary>
/// The schedules give, step by step, the learning rates of PyTorch's own schedulers as torchvision's reference
/// training script chains them (LinearLR or ConstantLR warm-up, then CosineAnnealingLR, StepLR or ExponentialLR,
/// through SequentialLR).
/// </summary>
public class ScheduleTests
{
    public static TheoryData<string> Cases => new(Fixtures.Json("schedules.json").EnumerateObject().Select(p => p.Name));

    // PyTorch's schedulers update the rate recursively (each step from the last), ours in closed form, so the last
    // bits differ: measured at most 4.3e-16 relative over these cases.
    const double Tolerance = 1e-14;

    [Theory]
    [MemberData(nameof(Cases))]
    public void LearningRatesArePyTorchs(string name)
    {
        var expected = Fixtures.Json("schedules.json").GetProperty(name);
        var c = expected.GetProperty("case");
        var stepsPerEpoch = expected.GetProperty("steps_per_epoch").GetInt64();
        string Text(string name, string otherwise) => c.TryGetProperty(name, out var v) ? v.GetString()! : otherwise;
        double Number(string name, double otherwise) => c.TryGetProperty(name, out var v) ? v.GetDouble() : otherwise;
        var options = new TrainerOptions
        {
            Epochs = c.GetProperty("epochs").GetInt32(),
            Schedule = Enum.Parse<ScheduleKind>(c.GetProperty("schedule").GetString()!, ignoreCase: true),
            WarmupEpochs = c.GetProperty("warmup_epochs").GetInt32(),
            WarmupMethod = Enum.Parse<WarmupMethod>(Text("warmup_method", "linear"), ignoreCase: true),
            WarmupDecay = Number("warmup_decay", expected.GetProperty("warmup_decay").GetDouble()),
            StepEpochs = c.TryGetProperty("step_epochs", out var stepEpochs) ? stepEpochs.GetInt32() : 30,
            Gamma = Number("gamma", 0.1),
        };
        var schedule = LearningRateSchedule.For(options, stepsPerEpoch);
        var baseRates = expected.GetProperty("base_lrs").EnumerateArray().Select(r => r.GetDouble()).ToArray();
        var step = 0;
        foreach (var rates in expected.GetProperty("lrs").EnumerateArray())
        {
            foreach (var (rate, group) in rates.EnumerateArray().Select((r, g) => (r.GetDouble(), g)))
            {
                var actual = baseRates[group] * schedule.Factor(step);
                Assert.True(Math.Abs(actual - rate) <= Tolerance * Math.Max(rate, 1e-300),
                    $"step {step}, group {group}: {actual:R}, PyTorch {rate:R}");
            }
            step++;
        }
        Assert.Equal(c.GetProperty("epochs").GetInt64() * stepsPerEpoch, step);
    }
}
