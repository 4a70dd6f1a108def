using static TorchSharp.torch;

namespace TorchVisionModels.Training;

/// <summary>
/// The classification reference's <c>utils.ExponentialMovingAverage</c>: PyTorch's <c>AveragedModel</c> over the
/// parameters and the buffers (<c>use_buffers=True</c>), each updated as <c>decay * average + (1 - decay) * current</c>
/// (the first update copies). Its state dict is PyTorch's: <c>n_averaged</c>, then <c>module.</c> and the model's keys.
/// </summary>
public sealed class ExponentialMovingAverage : IDisposable
{
    /// <summary>Averages into <paramref name="module"/>, which it owns, starting from <paramref name="model"/>'s current state.</summary>
    /// <param name="model">The model being trained.</param>
    /// <param name="module">A model of the same architecture to hold the average.</param>
    /// <param name="decay">The weight of the average at each update.</param>
    public ExponentialMovingAverage(ResNet model, ResNet module, double decay)
    {
        Module = module;
        Decay = decay;
        module.load_state_dict(model.state_dict());
        foreach (var p in module.parameters())
            p.requires_grad = false;
    }

    /// <summary>The weight of the average at each update.</summary>
    public double Decay { get; set; }

    /// <summary>The averaged model (AveragedModel's <c>module</c>).</summary>
    public ResNet Module { get; }

    /// <summary>Updates so far (AveragedModel's <c>n_averaged</c>); 0 makes the next one a copy (the reference resets it during warm-up).</summary>
    public long Averaged { get; set; }

    /// <summary>
    /// train.py's decay for <c>--model-ema-decay</c> and <c>--model-ema-steps</c>: adjusted by the images per update
    /// and the epochs, so that the average spans the same share of training whatever they are.
    /// </summary>
    public static double AdjustedDecay(double decay, int batchSize, int steps, int epochs, int worldSize = 1)
    {
        var adjust = (double)(worldSize * batchSize * steps) / epochs;
        var alpha = Math.Min(1.0, (1.0 - decay) * adjust);
        return 1.0 - alpha;
    }

    /// <summary>One update from <paramref name="model"/>'s parameters and buffers, in PyTorch's order and arithmetic (AveragedModel's <c>update_parameters</c>).</summary>
    public void Update(ResNet model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var averaged = Module.parameters().Concat(Module.buffers()).ToList();
        var current = model.parameters().Concat(model.buffers()).ToList();
        for (var i = 0; i < averaged.Count; i++)
        {
            var p_model = current[i].detach().to(averaged[i].device);
            if (Averaged == 0)
                averaged[i].copy_(p_model);
            else
                averaged[i].copy_(averaged[i].mul(Decay).add(p_model.mul(1 - Decay)));
        }
        Averaged++;
    }

    /// <summary>
    /// The averaged weights as AveragedModel's state dict: <c>n_averaged</c> (a new scalar tensor, the caller's to
    /// dispose), then <c>module.</c>-prefixed keys (the module's own tensors).
    /// </summary>
    public IEnumerable<(string Key, Tensor Value)> StateDict()
    {
        yield return ("n_averaged", tensor(Averaged));
        foreach (var (key, value) in Module.state_dict())
            yield return ($"module.{key}", value);
    }

    /// <summary>Frees the averaged model.</summary>
    public void Dispose() => Module.Dispose();
}
