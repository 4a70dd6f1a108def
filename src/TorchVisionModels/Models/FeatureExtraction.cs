using static TorchSharp.torch;

namespace TorchVisionModels;

public static partial class torchvision
{
    public static partial class models
    {
        /// <summary>torchvision.models.feature_extraction, for the ResNet family.</summary>
        public static class feature_extraction
        {
            /// <summary>
            /// A module that runs <paramref name="model"/> up to the last of <paramref name="return_nodes"/> and returns
            /// their outputs by name, as torchvision's <c>create_feature_extractor</c> does. The nodes are ResNet's
            /// top-level steps: conv1, bn1, relu, maxpool, layer1..layer4, avgpool, flatten (the pooled 512- or
            /// 2048-d embedding) and fc. The extractor shares the model's layers (same weights, same state_dict keys).
            /// </summary>
            /// <param name="model">The network to extract from.</param>
            /// <param name="return_nodes">Each node to return, and the name to return it under.</param>
            /// <exception cref="ArgumentException">A node is not one of ResNet's; the message lists them.</exception>
            public static ResNetFeatureExtractor create_feature_extractor(ResNet model, IReadOnlyDictionary<string, string> return_nodes)
                => new(model, return_nodes);

            /// <summary><see cref="create_feature_extractor(ResNet, IReadOnlyDictionary{string, string})"/>, each node returned under its own name.</summary>
            public static ResNetFeatureExtractor create_feature_extractor(ResNet model, IEnumerable<string> return_nodes)
                => new(model, return_nodes.ToDictionary(n => n, n => n));
        }
    }
}

/// <summary>ResNet's forward, stopping after the last requested node and returning the requested outputs by name.</summary>
public sealed class ResNetFeatureExtractor : nn.Module<Tensor, Dictionary<string, Tensor>>
{
    readonly List<(string node, Func<Tensor, Tensor> run)> steps = [];
    readonly IReadOnlyDictionary<string, string> return_nodes;

    internal ResNetFeatureExtractor(ResNet model, IReadOnlyDictionary<string, string> return_nodes) : base(nameof(ResNetFeatureExtractor))
    {
        var nodes = ResNetStructure.Nodes.ToList();
        var unknown = return_nodes.Keys.Where(n => !nodes.Contains(n)).ToList();
        if (unknown.Count > 0 || return_nodes.Count == 0)
            throw new ArgumentException(
                $"{(unknown.Count > 0 ? $"node '{unknown[0]}' is not present in model" : "no nodes to return")}; ResNet's nodes are {string.Join(", ", nodes)}.",
                nameof(return_nodes));
        this.return_nodes = return_nodes;
        var children = model.named_children().ToDictionary(c => c.name, c => c.module);
        foreach (var node in nodes.Take(return_nodes.Keys.Max(n => nodes.IndexOf(n)) + 1))
        {
            if (node == "flatten")
            {
                steps.Add((node, static x => flatten(x, 1)));
                continue;
            }
            var module = (nn.Module<Tensor, Tensor>)children[node];
            register_module(node, module);
            steps.Add((node, x => module.call(x)));
        }
    }

    /// <inheritdoc/>
    public override Dictionary<string, Tensor> forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var outputs = new Dictionary<string, Tensor>();
        foreach (var (node, run) in steps)
        {
            x = run(x);
            if (return_nodes.TryGetValue(node, out var name))
                outputs[name] = x;
        }
        scope.MoveToOuter(outputs.Values.Distinct());
        return outputs;
    }

    /// <inheritdoc cref="ResNet.named_modules"/>
    public override IEnumerable<(string name, nn.Module module)> named_modules() => PyTorchOrder.named_modules(this);

    /// <inheritdoc cref="ResNet.state_dict"/>
    public override Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null)
        => PyTorchOrder.state_dict(this, destination, prefix);
}
