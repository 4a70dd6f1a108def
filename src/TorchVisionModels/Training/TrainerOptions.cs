namespace TorchVisionModels.Training;

/// <summary>The optimizers a <see cref="Trainer"/> builds.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with momentum (Nesterov's by default).</summary>
    Sgd,

    /// <summary>AdamW (decoupled weight decay).</summary>
    AdamW,
}

/// <summary>The learning-rate schedules a <see cref="Trainer"/> follows after its warm-up: train.py's <c>--lr-scheduler</c>.</summary>
public enum ScheduleKind
{
    /// <summary><see cref="CosineSchedule"/> (cosineannealinglr): a cosine to zero.</summary>
    Cosine,

    /// <summary><see cref="StepSchedule"/> (steplr): x<see cref="TrainerOptions.Gamma"/> every <see cref="TrainerOptions.StepEpochs"/> epochs.</summary>
    Step,

    /// <summary><see cref="ExponentialSchedule"/> (exponentiallr): x<see cref="TrainerOptions.Gamma"/> every epoch, spread over its steps.</summary>
    Exponential,
}

/// <summary>train.py's <c>--lr-warmup-method</c>.</summary>
public enum WarmupMethod
{
    /// <summary>PyTorch's LinearLR: from <see cref="TrainerOptions.WarmupDecay"/> to 1.</summary>
    Linear,

    /// <summary>PyTorch's ConstantLR: <see cref="TrainerOptions.WarmupDecay"/> throughout.</summary>
    Constant,
}

/// <summary>The hyperparameters of a training run, with the defaults of torchvision's classification reference where it has one.</summary>
public sealed record TrainerOptions
{
    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 90;

    /// <summary>The base learning rate (of the backbone, when <see cref="HeadLearningRate"/> is set).</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>A learning rate of its own for <c>fc</c>; null to train everything at <see cref="LearningRate"/>.</summary>
    public double? HeadLearningRate { get; init; }

    /// <summary>The optimizer.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;

    /// <summary>SGD's momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Nesterov momentum for SGD.</summary>
    public bool Nesterov { get; init; } = true;

    /// <summary>Weight decay (L2 for SGD, decoupled for AdamW).</summary>
    public double WeightDecay { get; init; } = 1e-4;

    /// <summary>Label smoothing of the cross-entropy loss.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>The learning-rate schedule.</summary>
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;

    /// <summary>Epochs of warm-up before the schedule (train.py's <c>--lr-warmup-epochs</c>).</summary>
    public int WarmupEpochs { get; init; }

    /// <summary>How the warm-up goes (train.py's <c>--lr-warmup-method</c>).</summary>
    public WarmupMethod WarmupMethod { get; init; } = WarmupMethod.Linear;

    /// <summary>The warm-up's starting (linear) or whole (constant) factor (train.py's <c>--lr-warmup-decay</c>).</summary>
    public double WarmupDecay { get; init; } = 0.01;

    /// <summary>The factor of the step and exponential schedules (train.py's <c>--lr-gamma</c>).</summary>
    public double Gamma { get; init; } = 0.1;

    /// <summary>Epochs between x0.1 steps of the step schedule.</summary>
    public int StepEpochs { get; init; } = 30;

    /// <summary>Batches whose gradients add up before each optimizer step (an effective batch this many times larger).</summary>
    public int AccumulationSteps { get; init; } = 1;

    /// <summary>train.py's <c>--norm-weight-decay</c>: the weight decay of norm layers' parameters; null for <see cref="WeightDecay"/>.</summary>
    public double? NormWeightDecay { get; init; }

    /// <summary>train.py's <c>--bias-weight-decay</c>: the weight decay of every <c>bias</c>; null for the rest's.</summary>
    public double? BiasWeightDecay { get; init; }

    /// <summary>train.py's <c>--clip-grad-norm</c>: the largest total L2 norm of the gradients at a step; null for no clipping.</summary>
    public double? ClipGradNorm { get; init; }

    /// <summary>train.py's <c>--mixup-alpha</c>: mix batches with mixup at this Beta parameter; 0 for none.</summary>
    public double MixupAlpha { get; init; }

    /// <summary>train.py's <c>--cutmix-alpha</c>: mix batches with cutmix at this Beta parameter; 0 for none.</summary>
    public double CutmixAlpha { get; init; }

    /// <summary>train.py's <c>--model-ema</c>: keep an <see cref="ExponentialMovingAverage"/> of the weights, evaluated and checkpointed beside them.</summary>
    public bool ModelEma { get; init; }

    /// <summary>train.py's <c>--model-ema-steps</c>: optimizer steps between updates of the average.</summary>
    public int ModelEmaSteps { get; init; } = 32;

    /// <summary>train.py's <c>--model-ema-decay</c>, before its adjustment (<see cref="ExponentialMovingAverage.AdjustedDecay"/>).</summary>
    public double ModelEmaDecay { get; init; } = 0.99998;
}
