using Onnx;
using static TorchSharp.torch;

namespace TorchVisionModels.Onnx;

/// <summary>
/// A torchvision-style ResNet of BasicBlocks read out of an ONNX graph (as CNTK exports one: Conv, BatchNormalization,
/// Relu, MaxPool, Add, a global AveragePool, no classifier) into torchvision's state dict keys, and the input
/// normalisation of a preprocessing graph (a channel reordering and a mean image). The graph is walked from its input
/// and every node checked against the structure of <see cref="ResNet"/>, so a graph of another shape is refused,
/// naming the node, before any weight is used.
/// </summary>
public static class OnnxResNetImport
{
    /// <summary>The network's structure and weights, by torchvision's keys, without <c>fc</c>; the caller disposes the tensors.</summary>
    /// <param name="Block">The residual block (BasicBlock).</param>
    /// <param name="Layers">Blocks in layer1..layer4.</param>
    /// <param name="StateDict">conv1.weight, bn1.*, layer1.0.conv1.weight, ...: every key of the network but fc.* and num_batches_tracked.</param>
    public sealed record Network(BlockType Block, long[] Layers, IReadOnlyDictionary<string, Tensor> StateDict) : IDisposable
    {
        /// <summary>Disposes the tensors.</summary>
        public void Dispose()
        {
            foreach (var tensor in StateDict.Values)
                tensor.Dispose();
        }
    }

    /// <summary>How the preprocessing graph turns RGB pixels in 0..255 into the network's input: a channel order, then a mean image subtracted.</summary>
    /// <param name="ChannelOrder">RGB or BGR: the order the network takes the channels in.</param>
    /// <param name="MeanImage">The values subtracted, in 0..255, [3, height, width] row-major in <paramref name="ChannelOrder"/>.</param>
    /// <param name="Height">The mean image's height.</param>
    /// <param name="Width">The mean image's width.</param>
    public sealed record Normalization(string ChannelOrder, float[] MeanImage, int Height, int Width);

    /// <summary>The ResNet in the ONNX file <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not ONNX, or its graph is not a ResNet of BasicBlocks as described; the message names the node.</exception>
    public static Network ReadNetwork(string path)
    {
        var reader = new GraphReader(path, Parse(path));
        var state = new Dictionary<string, Tensor>();
        try
        {
            var x = reader.ConvNorm(reader.Input, 7, 2, "conv1", "bn1", state);
            x = reader.Single(reader.Single(x, "Relu").Output[0], "MaxPool", node => reader.Check(node, 3, 2, [1, 1, 1, 1], [1, 1, 0, 0])).Output[0];
            var layers = new List<long>();
            for (long planes = 64; ; )
            {
                var next = reader.Consumers(x).ToList();
                if (next is [{ OpType: "AveragePool" or "GlobalAveragePool" } pool])
                {
                    if (reader.Consumers(pool.Output[0]).Any() || !reader.Outputs.Contains(pool.Output[0]))
                        throw reader.Error(pool, "is followed by more layers; the import reads a backbone that ends with its pooling");
                    break;
                }
                var convs = next.Where(n => n.OpType == "Conv").ToList();
                var downsample = convs.FirstOrDefault(n => GraphReader.Kernel(n) == 1);
                if (convs.Count(n => n != downsample) != 1)
                    throw new InvalidDataException($"{path}: {x} goes to [{string.Join(", ", next.Select(GraphReader.Describe))}], where a ResNet block starts with one 3x3 convolution.");
                // A block with a shortcut projection starts a stage, except the first, whose stage is layer1.
                if (downsample is not null && layers.Count > 0 || layers.Count == 0)
                {
                    if (layers.Count > 0)
                        planes *= 2;
                    layers.Add(0);
                }
                var prefix = $"layer{layers.Count}.{layers[^1]}";
                var stride = downsample is null ? 1 : 2;
                var shortcut = downsample is null ? x : reader.ConvNorm(x, 1, 2, $"{prefix}.downsample.0", $"{prefix}.downsample.1", state, downsample);
                var y = reader.ConvNorm(x, 3, stride, $"{prefix}.conv1", $"{prefix}.bn1", state, convs.Single(n => n != downsample), planes);
                y = reader.ConvNorm(reader.Single(y, "Relu").Output[0], 3, 1, $"{prefix}.conv2", $"{prefix}.bn2", state, expectedChannels: planes);
                var add = reader.Single(y, "Add");
                if (!add.Input.Contains(shortcut))
                    throw reader.Error(add, $"adds {string.Join(" and ", add.Input)}, not the block's input or its projection {shortcut}");
                x = reader.Single(add.Output[0], "Relu").Output[0];
                layers[^1]++;
            }
            if (layers.Count != 4 || state["layer4.0.conv1.weight"].shape[0] != 512)
                throw new InvalidDataException($"{path} has {layers.Count} stages of [{string.Join(", ", layers)}] blocks; a ResNet has four, of 64 to 512 channels.");
            return new(BasicBlock.type, [.. layers], state);
        }
        catch
        {
            foreach (var tensor in state.Values)
                tensor.Dispose();
            throw;
        }
    }

    /// <summary>The normalisation in the preprocessing graph <paramref name="path"/>: Split of the input's channels, Concat in some order, Sub of a constant image.</summary>
    /// <exception cref="InvalidDataException">The file is not ONNX or its graph is not of that form; the message names the node.</exception>
    public static Normalization ReadNormalization(string path)
    {
        var reader = new GraphReader(path, Parse(path));
        var split = reader.Single(reader.Input, "Split");
        var concat = reader.Single(split.Output[0], "Concat");
        var order = concat.Input.Select(i => split.Output.IndexOf(i)).ToArray();
        var channelOrder = order.SequenceEqual([0, 1, 2]) ? "RGB" : order.SequenceEqual([2, 1, 0]) ? "BGR"
            : throw reader.Error(concat, $"orders the channels [{string.Join(", ", order)}], neither RGB nor BGR");
        var sub = reader.Single(concat.Output[0], "Sub");
        var mean = reader.Weight(sub, 1);
        if (mean.Dims is not [1, 3, var height, var width])
            throw reader.Error(sub, $"subtracts a constant of shape [{string.Join(", ", mean.Dims)}], not an image [1, 3, H, W]");
        if (reader.Consumers(sub.Output[0]).Any() || !reader.Outputs.Contains(sub.Output[0]))
            throw reader.Error(sub, "is not the graph's last step");
        return new(channelOrder, GraphReader.Floats(mean), (int)height, (int)width);
    }

    static ModelProto Parse(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return ModelProto.Parser.ParseFrom(stream);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{path} is not an ONNX model ({e.Message.TrimEnd('.')}).");
        }
    }

    /// <summary>One graph's nodes by what they consume, its weights by name, and the checks of the walk.</summary>
    sealed class GraphReader
    {
        readonly string path;
        readonly ILookup<string, NodeProto> consumers;
        readonly Dictionary<string, TensorProto> initializers;

        public GraphReader(string path, ModelProto model)
        {
            this.path = path;
            initializers = model.Graph.Initializer.ToDictionary(i => i.Name);
            consumers = model.Graph.Node.SelectMany(n => n.Input.Select(input => (input, n))).ToLookup(p => p.input, p => p.n);
            var inputs = model.Graph.Input.Where(i => !initializers.ContainsKey(i.Name)).ToList();
            Input = inputs is [var input] ? input.Name : throw new InvalidDataException($"{path} has {inputs.Count} inputs; a network of images has one.");
            Outputs = [.. model.Graph.Output.Select(o => o.Name)];
        }

        public string Input { get; }

        public IReadOnlyList<string> Outputs { get; }

        public IEnumerable<NodeProto> Consumers(string tensor) => consumers[tensor];

        /// <summary>The one node that consumes <paramref name="tensor"/>, which must be a <paramref name="op"/> and pass <paramref name="check"/>.</summary>
        public NodeProto Single(string tensor, string op, Action<NodeProto>? check = null)
        {
            var nodes = consumers[tensor].ToList();
            if (nodes is not [{ } node] || node.OpType != op)
                throw new InvalidDataException(
                    $"{path}: {tensor} goes to [{string.Join(", ", nodes.Select(Describe))}], where a ResNet has one {op}.");
            check?.Invoke(node);
            return node;
        }

        /// <summary>A convolution without bias and its BatchNormalization, stored under torchvision's keys; returns the norm's output.</summary>
        public string ConvNorm(string x, int kernel, int stride, string conv, string norm, Dictionary<string, Tensor> state, NodeProto? node = null,
            long? expectedChannels = null)
        {
            node ??= Single(x, "Conv");
            if (node.OpType != "Conv" || node.Input.Count != 2)
                throw Error(node, "is not a convolution without bias");
            // Stride-2 layers padded only at the start (CNTK's) see the same pixels as torchvision's symmetric padding at even sizes.
            long[] symmetric = [kernel / 2, kernel / 2, kernel / 2, kernel / 2];
            Check(node, kernel, stride, symmetric, stride == 2 ? [kernel / 2, kernel / 2, kernel / 2 - 1, kernel / 2 - 1] : symmetric);
            if (Attribute(node, "group")?.I is { } group and not 1 || Attribute(node, "dilations")?.Ints is { } dilations && dilations.Any(d => d != 1))
                throw Error(node, "is grouped or dilated; a ResNet's convolutions are neither");
            var weight = Tensor(node, 1);
            if (expectedChannels is { } channels && weight.shape[0] != channels)
                throw Error(node, $"has {weight.shape[0]} output channels where the stage has {channels}");
            state[$"{conv}.weight"] = weight;
            var bn = Single(node.Output[0], "BatchNormalization");
            if (Attribute(bn, "epsilon")?.F is { } epsilon && Math.Abs(epsilon - 1e-5) > 1e-9)
                throw Error(bn, $"has epsilon {epsilon}, not torchvision's 1e-5");
            foreach (var (key, index) in new[] { ("weight", 1), ("bias", 2), ("running_mean", 3), ("running_var", 4) })
                state[$"{norm}.{key}"] = Tensor(bn, index);
            return bn.Output[0];
        }

        public void Check(NodeProto node, int kernel, int stride, long[] pads, long[] alternativePads)
        {
            var nodePads = Attribute(node, "pads")?.Ints.ToArray() ?? [0, 0, 0, 0];
            if (Attribute(node, "kernel_shape")?.Ints is not [var kh, var kw] || kh != kernel || kw != kernel
                || Attribute(node, "strides")?.Ints is not [var sh, var sw] || sh != stride || sw != stride
                || !nodePads.SequenceEqual(pads) && !nodePads.SequenceEqual(alternativePads)
                || Attribute(node, "auto_pad") is { S: var autoPad } && autoPad.ToStringUtf8() is not ("" or "NOTSET"))
                throw Error(node, $"is not a {kernel}x{kernel} {node.OpType} of stride {stride} padded [{string.Join(", ", pads)}] as a ResNet's is here");
        }

        public static long Kernel(NodeProto node) => Attribute(node, "kernel_shape")?.Ints.FirstOrDefault() ?? 0;

        public TensorProto Weight(NodeProto node, int index)
            => index < node.Input.Count && initializers.TryGetValue(node.Input[index], out var weight) ? weight
                : throw Error(node, $"takes {(index < node.Input.Count ? node.Input[index] : "nothing")} as input {index}, which is not a stored weight");

        Tensor Tensor(NodeProto node, int index)
        {
            var weight = Weight(node, index);
            var values = Floats(weight);
            return values.Length == weight.Dims.Aggregate(1L, (a, b) => a * b) ? tensor(values, [.. weight.Dims])
                : throw Error(node, $"has a weight {weight.Name} of {values.Length} values for the shape [{string.Join(", ", weight.Dims)}]");
        }

        public static float[] Floats(TensorProto weight)
        {
            if (weight.DataType != (int)TensorProto.Types.DataType.Float)
                throw new InvalidDataException($"{weight.Name} holds ONNX type {weight.DataType}, not float32.");
            if (weight.RawData.IsEmpty)
                return [.. weight.FloatData];
            var values = new float[weight.RawData.Length / 4];
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(weight.RawData.Span).CopyTo(values);
            return values;
        }

        public InvalidDataException Error(NodeProto node, string what) => new($"{path}: {Describe(node)} {what}.");

        /// <summary>A node by its type and name, or its output's name when it has none (CNTK's have none).</summary>
        public static string Describe(NodeProto node) => $"{node.OpType} {(node.Name is { Length: > 0 } name ? name : node.Output.FirstOrDefault())}";

        static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);
    }
}
