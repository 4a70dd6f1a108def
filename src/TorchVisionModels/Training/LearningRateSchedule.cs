namespace TorchVisionModels.Training;

/// <summary>A learning-rate multiplier as a function of the optimizer step: closed form, so a resumed run picks up exactly where it stopped.</summary>
public interface ILearningRateSchedule
{
    /// <summary>The factor applied to each parameter group's base learning rate at optimizer step <paramref name="step"/> (from 0).</summary>
    double Factor(long step);
}

/// <summary>Builds the schedule train.py builds from its options, counted in optimizer steps rather than epochs.</summary>
public static class LearningRateSchedule
{
    /// <summary>
    /// train.py's <c>--lr-scheduler</c> after <c>--lr-warmup-epochs</c> of <c>--lr-warmup-method</c> (SequentialLR):
    /// every length in epochs times <paramref name="stepsPerEpoch"/>, since the trainer steps the schedule at every
    /// optimizer step where train.py steps it once an epoch.
    /// </summary>
    public static ILearningRateSchedule For(TrainerOptions options, long stepsPerEpoch)
    {
        var warmup = (long)options.WarmupEpochs * stepsPerEpoch;
        ILearningRateSchedule main = options.Schedule switch
        {
            ScheduleKind.Step => new StepSchedule((long)options.StepEpochs * stepsPerEpoch, options.Gamma),
            ScheduleKind.Exponential => new ExponentialSchedule(Math.Pow(options.Gamma, 1.0 / stepsPerEpoch)),
            _ => new CosineSchedule((long)options.Epochs * stepsPerEpoch - warmup),
        };
        return warmup == 0 ? main : new WarmupSchedule(main, warmup, options.WarmupDecay, options.WarmupMethod);
    }
}

/// <summary>PyTorch's <c>CosineAnnealingLR</c> to zero: a cosine from 1 to 0 over <paramref name="TotalSteps"/>.</summary>
public sealed record CosineSchedule(long TotalSteps) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public double Factor(long step) => 0.5 * (1 + Math.Cos(Math.PI * step / Math.Max(1, TotalSteps)));
}

/// <summary>PyTorch's <c>StepLR</c>: the rate times <paramref name="Gamma"/> every <paramref name="StepSize"/> steps.</summary>
public sealed record StepSchedule(long StepSize, double Gamma = 0.1) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public double Factor(long step) => Math.Pow(Gamma, step / StepSize);
}

/// <summary>PyTorch's <c>ExponentialLR</c>: the rate times <paramref name="Gamma"/> at every step.</summary>
public sealed record ExponentialSchedule(double Gamma) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public double Factor(long step) => Math.Pow(Gamma, step);
}

/// <summary>
/// train.py's warm-up, chained before <paramref name="Main"/> as SequentialLR chains it: for
/// <paramref name="Steps"/> steps PyTorch's <c>LinearLR</c> from <paramref name="Decay"/> to 1, or its
/// <c>ConstantLR</c> at <paramref name="Decay"/>; then <paramref name="Main"/> from its own step 0.
/// </summary>
public sealed record WarmupSchedule(ILearningRateSchedule Main, long Steps, double Decay = 0.01, WarmupMethod Method = WarmupMethod.Linear) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public double Factor(long step) => step >= Steps ? Main.Factor(step - Steps)
        : Method == WarmupMethod.Constant ? Decay
        : Decay + (1 - Decay) * step / Steps;
}
