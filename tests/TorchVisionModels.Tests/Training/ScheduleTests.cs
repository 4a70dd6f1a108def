using TorchVisionModels.Training;

namespace TorchVisionModels.Tests.Training;

/// <summary>The schedules give, step by step, the learning rates PyTorch's LambdaLR gives in scripts/finetune_pytorch.py.</summary>
public class ScheduleTests
{
    [Theory]
    [InlineData("cosine")]
    [InlineData("cosine_no_warmup")]
    [InlineData("step")]
    public void LearningRatesArePyTorchs(string name)
    {
        var expected = Fixtures.Json("schedules.json").GetProperty(name);
        var args = expected.GetProperty("args");
        var stepsPerEpoch = expected.GetProperty("steps_per_epoch").GetInt64();
        ILearningRateSchedule schedule = args.GetProperty("schedule").GetString() == "step"
            ? new StepSchedule(args.GetProperty("step_epochs").GetInt64() * stepsPerEpoch)
            : new CosineSchedule(args.GetProperty("epochs").GetInt64() * stepsPerEpoch, args.GetProperty("warmup_epochs").GetInt64() * stepsPerEpoch);
        var step = 0;
        foreach (var lrs in expected.GetProperty("lrs").EnumerateArray())
        {
            // LambdaLR multiplies each group's base rate by the same factor; the arithmetic is the same, so the bits are.
            Assert.Equal(lrs[0].GetDouble(), 0.1 * schedule.Factor(step));
            Assert.Equal(lrs[1].GetDouble(), 0.01 * schedule.Factor(step));
            step++;
        }
        Assert.Equal(args.GetProperty("epochs").GetInt64() * stepsPerEpoch, step);
    }
}
