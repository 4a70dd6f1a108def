using TorchVisionModels.Training;

namespace TorchVisionModels.Tests.Training;

/// <summary>
/// The schedules give, step by step, the learning rates of PyTorch's own schedulers as torchvision's reference
/// training script chains them (LinearLR warm-up, then CosineAnnealingLR or StepLR, through SequentialLR).
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
        ILearningRateSchedule schedule = c.GetProperty("schedule").GetString() == "step"
            ? new StepSchedule(c.GetProperty("step_epochs").GetInt64() * stepsPerEpoch, c.GetProperty("gamma").GetDouble())
            : new CosineSchedule(c.GetProperty("epochs").GetInt64() * stepsPerEpoch, c.GetProperty("warmup_epochs").GetInt64() * stepsPerEpoch,
                expected.GetProperty("warmup_decay").GetDouble());
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
