using TorchSharp.Modules;
using TorchVisionModels.Serialization;
using static TorchSharp.torch;

namespace TorchVisionModels.Training;

/// <summary>
/// An optimizer's state in PyTorch's <c>optimizer.state_dict()</c> layout: <c>{"state": {index: {...}},
/// "param_groups": [{..., "params": [indices]}]}</c>, for SGD and AdamW, so a checkpoint resumes here or in PyTorch.
/// </summary>
static class OptimizerStateDict
{
    /// <summary>The optimizer's state as plain data for torch.save; its tensors are the optimizer's own (not copies).</summary>
    public static Dictionary<string, object?> From(OptimizerHelper optimizer)
    {
        var dictionary = optimizer.state_dict();
        var state = new Dictionary<long, object?>();
        var groups = new List<object?>();
        var index = 0;
        for (var g = 0; g < dictionary.Options.Count; g++)
        {
            var group = Options(dictionary.Options[g]);
            group["params"] = dictionary.StateIndexRef[g].Cast<object?>().ToList();
            groups.Add(group);
        }
        foreach (var parameterState in dictionary.State)
        {
            var entry = State(parameterState);
            if (entry.Count > 0)
                state[index] = entry;
            index++;
        }
        return new() { ["state"] = state, ["param_groups"] = groups };
    }

    static Dictionary<string, object?> Options(OptimizerOptions options) => options switch
    {
        SGD.Options o => new()
        {
            ["lr"] = o.LearningRate, ["momentum"] = o.momentum, ["dampening"] = o.dampening, ["weight_decay"] = o.weight_decay,
            ["nesterov"] = o.nesterov, ["maximize"] = o.maximize, ["foreach"] = null, ["differentiable"] = false,
        },
        AdamW.Options o => new()
        {
            ["lr"] = o.LearningRate, ["betas"] = new object?[] { o.beta1, o.beta2 }, ["eps"] = o.eps, ["weight_decay"] = o.weight_decay,
            ["amsgrad"] = o.amsgrad, ["maximize"] = o.maximize, ["foreach"] = null, ["capturable"] = false,
        },
        _ => throw new ArgumentException($"Training checkpoints support the SGD and AdamW optimizers, not {options.GetType().DeclaringType?.Name}."),
    };

    static Dictionary<string, object?> State(OptimizerState state) => state switch
    {
        SGD.State { momentum_buffer: { } buffer } => new() { ["momentum_buffer"] = buffer },
        SGD.State => [],
        AdamW.State { step: 0 } => [],
        AdamW.State s => new Dictionary<string, object?>
        {
            ["step"] = tensor((float)s.step), ["exp_avg"] = s.exp_avg, ["exp_avg_sq"] = s.exp_avg_sq,
        }.Concat(s.max_exp_avg_sq is { } max ? [KeyValuePair.Create("max_exp_avg_sq", (object?)max)] : []).ToDictionary(),
        _ => throw new ArgumentException($"Training checkpoints support the SGD and AdamW optimizers, not {state.GetType().DeclaringType?.Name}."),
    };

    /// <summary>
    /// Reads a saved state into memory and checks that it fits the optimizer, changing nothing yet: the caller
    /// validates everything first, then applies it (or disposes it).
    /// </summary>
    public static Staged Stage(OptimizerHelper optimizer, object? saved, string path)
    {
        var dictionary = optimizer.state_dict();
        if (saved is not PickleDictionary root || root.GetValueOrDefault("state") is not PickleDictionary state
            || root.GetValueOrDefault("param_groups") is not List<object?> groups)
            throw new CheckpointException($"{path} has no optimizer state in PyTorch's layout (\"state\" and \"param_groups\").");
        if (groups.Count != dictionary.Options.Count)
            throw new CheckpointException($"{path} has optimizer state for {groups.Count} parameter group(s); this optimizer has {dictionary.Options.Count}.");
        var lrs = groups.Select(g => g is PickleDictionary d && d.GetValueOrDefault("lr") is double lr ? lr
            : throw new CheckpointException($"{path} has a parameter group without a learning rate.")).ToList();

        var staged = new Staged(optimizer, lrs);
        try
        {
            foreach (var (key, value) in state)
            {
                var index = key is long l ? (int)l : -1;
                if (index < 0 || index >= dictionary.State.Count || value is not PickleDictionary entry)
                    throw new CheckpointException($"{path} has optimizer state for parameter {key}, which this optimizer does not have.");
                foreach (var (name, item) in entry)
                    staged.tensors[(index, (string)name)] = item is StoredTensor stored ? stored.Read() : tensor(Convert.ToSingle(item));
            }
            return staged;
        }
        catch
        {
            staged.Dispose();
            throw;
        }
    }

    /// <summary>An optimizer state read and checked, not yet applied.</summary>
    public sealed class Staged(OptimizerHelper optimizer, List<double> lrs) : IDisposable
    {
        internal readonly Dictionary<(int index, string name), Tensor> tensors = [];

        /// <summary>Sets the optimizer's learning rates and per-parameter state.</summary>
        public void Apply()
        {
            var dictionary = optimizer.state_dict();
            for (var g = 0; g < lrs.Count; g++)
                dictionary.Options[g].LearningRate = lrs[g];
            var parameters = optimizer.parameters().ToList();
            using var _ = no_grad();
            for (var i = 0; i < dictionary.State.Count; i++)
            {
                Tensor? Take(string name) => tensors.Remove((i, name), out var t) ? Moved(t, parameters[i].device) : null;
                switch (dictionary.State[i])
                {
                    case SGD.State s:
                        s.momentum_buffer?.Dispose();
                        s.momentum_buffer = Take("momentum_buffer")!;
                        break;
                    case AdamW.State s:
                        using (var step = Take("step"))
                            s.step = step is null ? 0 : (long)step.item<float>();
                        if (Take("exp_avg") is { } exp_avg) { s.exp_avg.Dispose(); s.exp_avg = exp_avg; }
                        if (Take("exp_avg_sq") is { } exp_avg_sq) { s.exp_avg_sq.Dispose(); s.exp_avg_sq = exp_avg_sq; }
                        if (Take("max_exp_avg_sq") is { } max) { s.max_exp_avg_sq?.Dispose(); s.max_exp_avg_sq = max; }
                        break;
                }
            }
        }

        static Tensor Moved(Tensor t, Device device)
        {
            var moved = t.to(device).DetachFromDisposeScope();
            if (!ReferenceEquals(moved, t))
                t.Dispose();
            return moved;
        }

        /// <summary>Frees whatever was read and not applied.</summary>
        public void Dispose()
        {
            foreach (var tensor in tensors.Values)
                tensor.Dispose();
            tensors.Clear();
        }
    }
}
