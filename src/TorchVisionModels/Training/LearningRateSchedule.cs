namespace TorchVisionModels.Training;

/// <summary>A learning-rate multiplier as a function of the optimizer step: closed form, so a resumed run picks up exactly where it stopped.</summary>
public interface ILearningRateSchedule
{
    /// <summary>The factor applied to each parameter group's base learning rate at optimizer step <paramref name="step"/> (from 0).</summary>
    double Factor(long step);
}

/// <summary>
/// Linear warm-up from <paramref name="WarmupStart"/> to 1 over <paramref name="WarmupSteps"/>, then a cosine from
/// 1 to 0 over the remaining steps of <paramref name="TotalSteps"/>: what <c>LambdaLR</c> gives in scripts/finetune_pytorch.py.
/// </summary>
public sealed record CosineSchedule(long TotalSteps, long WarmupSteps = 0, double WarmupStart = 0.01) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public double Factor(long step) => step < WarmupSteps
        ? WarmupStart + (1 - WarmupStart) * step / WarmupSteps
        : 0.5 * (1 + Math.Cos(Math.PI * (step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps)));
}

/// <summary>PyTorch's <c>StepLR</c>: the rate times <paramref name="Gamma"/> every <paramref name="StepSize"/> steps.</summary>
public sealed record StepSchedule(long StepSize, double Gamma = 0.1) : ILearningRateSchedule
{
    /// <inheritdoc/>
    public double Factor(long step) => Math.Pow(Gamma, step / StepSize);
}
