namespace TorchVisionModels.Training;

/// <summary>What one epoch of <see cref="Trainer.Fit"/> did: one line of metrics.jsonl.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="TrainLoss">Mean training loss (with label smoothing) over the epoch's batches.</param>
/// <param name="LearningRate">The learning rate of the first parameter group at the epoch's last step.</param>
/// <param name="Seconds">Wall time of the training pass (evaluation excluded).</param>
/// <param name="ImagesPerSecond">Training images per second.</param>
/// <param name="Validation">Accuracy on the validation set, when there is one.</param>
/// <param name="IsBest">The best validation top-1 so far: saved as best.pt.</param>
public sealed record EpochResult(long Epoch, double TrainLoss, double LearningRate, double Seconds, double ImagesPerSecond, Evaluation? Validation, bool IsBest)
{
    /// <summary>Accuracy of the weights' moving average on the validation set, with <see cref="TrainerOptions.ModelEma"/>.</summary>
    public Evaluation? ValidationEma { get; init; }
}

/// <summary>Where a training epoch is, for a progress bar.</summary>
/// <param name="Epoch">The epoch, from 1.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="Batches">Batches in the epoch.</param>
/// <param name="Loss">Mean loss so far in this epoch.</param>
/// <param name="ImagesPerSecond">Training speed so far in this epoch.</param>
/// <param name="Elapsed">Time since the epoch began.</param>
public sealed record TrainingProgress(long Epoch, int Batch, int Batches, double Loss, double ImagesPerSecond, TimeSpan Elapsed);
