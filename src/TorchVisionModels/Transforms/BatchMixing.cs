using static TorchSharp.torch;

namespace TorchVisionModels.Transforms;

/// <summary>
/// What <see cref="RandomMixup"/> and <see cref="RandomCutmix"/> share, and train.py's choice between them: with
/// <c>--mixup-alpha</c> and <c>--cutmix-alpha</c> both set, each batch gets one of the two, chosen uniformly.
/// </summary>
/// <param name="NumClasses">Classes, for the one-hot targets.</param>
/// <param name="MixupAlpha">Mixup's Beta parameter (train.py's <c>--mixup-alpha</c>); 0 for no mixup.</param>
/// <param name="CutmixAlpha">Cutmix's Beta parameter (train.py's <c>--cutmix-alpha</c>); 0 for no cutmix.</param>
public sealed record BatchMixing(int NumClasses, double MixupAlpha, double CutmixAlpha)
{
    /// <summary>Either alpha is set: batches are mixed, and targets become soft.</summary>
    public bool Enabled => MixupAlpha > 0 || CutmixAlpha > 0;

    /// <summary>
    /// The batch mixed by one of the enabled transforms (each with train.py's p = 1). train.py chooses with Python's
    /// <c>random</c>, which it never seeds; here the choice is one more draw from <paramref name="generator"/>, so a
    /// seed fixes it too.
    /// </summary>
    public (Tensor batch, Tensor target) forward(Tensor batch, Tensor target, Generator generator)
    {
        if (MixupAlpha > 0 && CutmixAlpha > 0)
        {
            using var choice = randint(0, 2, [1], generator: generator);
            return choice.item<long>() == 0 ? Mixup(batch, target, generator) : Cutmix(batch, target, generator);
        }
        return MixupAlpha > 0 ? Mixup(batch, target, generator) : Cutmix(batch, target, generator);
    }

    (Tensor, Tensor) Mixup(Tensor batch, Tensor target, Generator generator) => new RandomMixup(NumClasses, 1.0, MixupAlpha).forward(batch, target, generator);

    (Tensor, Tensor) Cutmix(Tensor batch, Tensor target, Generator generator) => new RandomCutmix(NumClasses, 1.0, CutmixAlpha).forward(batch, target, generator);

    /// <summary>Copies of the batch and of the targets as float one-hot rows.</summary>
    internal static (Tensor batch, Tensor target) Start(Tensor batch, Tensor target, int num_classes)
    {
        if (batch.ndim != 4 || target.ndim != 1 || !batch.is_floating_point() || target.dtype != ScalarType.Int64)
            throw new ArgumentException($"Expected a float batch [B, C, H, W] and int64 targets [B]; got {batch.dtype} [{string.Join(", ", batch.shape)}] and {target.dtype} [{string.Join(", ", target.shape)}].");
        using var oneHot = nn.functional.one_hot(target, num_classes);
        return (batch.clone(), oneHot.to(batch.dtype));
    }

    /// <summary>The reference's <c>torch.rand(1).item() &gt;= p</c> test, inverted: true when the batch is mixed.</summary>
    internal static bool Applies(double p, Generator generator)
    {
        using var draw = rand([1], generator: generator);
        return !((double)draw.item<float>() >= p);
    }

    /// <summary>λ ~ Beta(alpha, alpha), as the reference draws it: the first coordinate of a Dirichlet(alpha, alpha) sample, in float32.</summary>
    internal static double Lambda(double alpha, Generator generator)
    {
        using var concentration = tensor(new[] { (float)alpha, (float)alpha });
        using var sample = _sample_dirichlet(concentration, generator);
        return sample.data<float>()[0];
    }
}
