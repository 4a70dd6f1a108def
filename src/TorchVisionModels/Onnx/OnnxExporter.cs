using Google.Protobuf;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels.Onnx;

/// <summary>
/// Exports a <see cref="ResNet"/> (any builder, any option, a fine-tuned head) to ONNX with its eval-mode
/// semantics: Conv, BatchNormalization (or folded into the convolutions), Relu, MaxPool, Add, GlobalAveragePool,
/// Flatten and Gemm, the weights as initializers, a dynamic batch and image size. GroupNorm, which opset 18 names
/// but runtimes of opsets 13-17 lack, is written as Reshape, InstanceNormalization over the groups, Reshape, Mul
/// and Add, which every runtime has. Written with OnnxSharp's ONNX
/// protobuf classes: no Python involved.
/// </summary>
public static class OnnxExporter
{
    /// <summary>The input's name: float32 [batch, 3, height, width], normalised as the weights' preset says.</summary>
    public const string InputName = "input";

    /// <summary>The output's name: float32 logits [batch, num_classes].</summary>
    public const string OutputName = "logits";

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> (atomically: a failure leaves no partial file).</summary>
    /// <param name="model">The network; its current weights are exported, with eval-mode normalisation.</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="foldBatchNorm">Fold each normalisation layer into the convolution before it (fewer nodes, same outputs up to float rounding).</param>
    /// <param name="opset">The ONNX opset, 13 to 17 (17 is the newest Debian's onnx checker knows).</param>
    /// <param name="metadata">Written into the model's metadata_props: architecture, categories, preprocessing, ...</param>
    /// <param name="inputSize">Fix the input's height and width (the batch stays dynamic), as torch.onnx.export does by default: ONNX Runtime plans a fixed-size graph better (measured: ResNet-50 batch 8 about 10% faster). Null leaves them dynamic.</param>
    /// <exception cref="NotSupportedException">A module has no ONNX equivalent here (a custom norm layer or block); the message names it.</exception>
    public static void Export(ResNet model, string path, bool foldBatchNorm = false, int opset = 17, IReadOnlyDictionary<string, string>? metadata = null,
        (long height, long width)? inputSize = null)
    {
        var proto = ToModel(model, foldBatchNorm, opset, metadata, inputSize);
        Serialization.StateDictFiles.WriteAtomically(path, stream => proto.WriteTo(stream));
    }

    /// <summary>The ONNX model, in memory; the arguments are <see cref="Export"/>'s.</summary>
    public static ModelProto ToModel(ResNet model, bool foldBatchNorm = false, int opset = 17, IReadOnlyDictionary<string, string>? metadata = null,
        (long height, long width)? inputSize = null)
    {
        if (opset is < 13 or > 17)
            throw new ArgumentOutOfRangeException(nameof(opset), opset, "The exporter writes opsets 13 to 17.");
        var graph = new GraphBuilder(foldBatchNorm, model.fc);
        using (no_grad())
        using (NewDisposeScope())
            ResNetStructure.Of(model).Forward(InputName, graph);

        var onnx = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "TorchVisionResNet",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph.Build(inputSize),
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            onnx.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return onnx;
    }

    /// <summary>Builds the graph node by node, as the description's operations; names follow the module tree (layer1.0.conv1, ...).</summary>
    sealed class GraphBuilder(bool fold, Linear fc) : IResNetOperations<ConvNorm, string>
    {
        readonly GraphProto graph = new() { Name = "resnet" };

        public string ConvNorm(string x, ConvNorm pair)
        {
            var (conv, convName, normName) = (pair.Conv, pair.ConvName, pair.NormName);
            switch (pair.Evaluate())
            {
                case NormEvaluation.PerGroup perGroup:
                    return GroupNormalization(Conv(x, conv, convName, conv.weight!.detach(), conv.bias?.detach()), perGroup, normName);
                case NormEvaluation.PerChannel perChannel when fold:
                    var (w, b) = BatchNormFolding.Fold(conv, perChannel);
                    return Conv(x, conv, convName, w, b);
                case NormEvaluation.PerChannel perChannel:
                    var y = Conv(x, conv, convName, conv.weight!.detach(), conv.bias?.detach());
                    return Node("BatchNormalization",
                        [y, Initializer($"{normName}.weight", perChannel.Scale), Initializer($"{normName}.bias", perChannel.Shift),
                         Initializer($"{normName}.running_mean", perChannel.Mean), Initializer($"{normName}.running_var", perChannel.Variance)],
                        normName, Float("epsilon", (float)perChannel.Eps));
                default:
                    throw new System.Diagnostics.UnreachableException("A NormEvaluation is PerChannel or PerGroup.");
            }
        }

        public string Relu(string x, string name) => Node("Relu", [x], name);

        public string MaxPool(string x, Pool pool)
            => Node("MaxPool", [x], "maxpool", Ints("kernel_shape", pool.Kernel), Ints("strides", pool.Stride), Ints("pads", [.. pool.Padding, .. pool.Padding]));

        public string Add(string branch, string shortcut, string name) => Node("Add", [branch, shortcut], name);

        public string AveragePool(string x) => Node("Flatten", [Node("GlobalAveragePool", [x], "avgpool")], "flatten", Int("axis", 1));

        public string Fc(string x)
            => Node("Gemm", [x, Initializer("fc.weight", fc.weight!.detach()), Initializer("fc.bias", fc.bias!.detach())], "fc", OutputName, Int("transB", 1));

        /// <summary>
        /// GroupNorm as ops of every opset: [N, C, H, W] reshaped to [N, G, C/G*H*W], InstanceNormalization (unit
        /// scale, zero shift) normalises each group, reshaped back, then the per-channel affine as Mul and Add.
        /// </summary>
        string GroupNormalization(string x, NormEvaluation.PerGroup gn, string name)
        {
            var groups = gn.Groups;
            using var unitScale = ones(groups);
            using var zeroShift = zeros(groups);
            var grouped = Node("Reshape", [x, Constant($"{name}.grouped_shape", [0, groups, -1])], $"{name}.group");
            var normalised = Node("InstanceNormalization", [grouped, Initializer($"{name}.unit_scale", unitScale), Initializer($"{name}.zero_shift", zeroShift)],
                $"{name}.normalise", Float("epsilon", (float)gn.Eps));
            var shape = Node("Shape", [x], $"{name}.shape");
            var y = Node("Reshape", [normalised, shape], $"{name}.ungroup");
            if (gn.Weight is { } weight)
                y = Node("Mul", [y, Initializer($"{name}.weight", weight.view(-1, 1, 1))], $"{name}.scale");
            if (gn.Bias is { } bias)
                y = Node("Add", [y, Initializer($"{name}.bias", bias.view(-1, 1, 1))], $"{name}.shift");
            return y;
        }

        string Conv(string x, Convolution conv, string name, Tensor weight, Tensor? bias)
        {
            var inputs = bias is null
                ? new[] { x, Initializer($"{name}.weight", weight) }
                : [x, Initializer($"{name}.weight", weight), Initializer($"{name}.bias", bias)];
            return Node("Conv", inputs, name,
                Ints("kernel_shape", conv.kernel_size), Ints("strides", conv.stride), Ints("dilations", conv.dilation),
                Ints("pads", [.. conv.padding!, .. conv.padding!]), Int("group", conv.groups));
        }

        string Node(string op, string[] inputs, string name, params AttributeProto[] attributes) => Node(op, inputs, name, name, attributes);

        string Node(string op, string[] inputs, string name, string output, params AttributeProto[] attributes)
        {
            var node = new NodeProto { OpType = op, Name = name };
            node.Input.AddRange(inputs);
            node.Output.Add(output);
            node.Attribute.AddRange(attributes);
            graph.Node.Add(node);
            return output;
        }

        /// <summary>An int64 initializer, for shapes.</summary>
        string Constant(string name, long[] values)
        {
            var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            proto.Dims.Add(values.Length);
            proto.Int64Data.AddRange(values);
            graph.Initializer.Add(proto);
            return name;
        }

        string Initializer(string name, Tensor tensor)
        {
            using var data = tensor.to(float32).cpu().contiguous();
            var bytes = new byte[data.numel() * 4];
            data.bytes.CopyTo(bytes);
            var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(bytes) };
            proto.Dims.AddRange(data.shape);
            graph.Initializer.Add(proto);
            return name;
        }

        static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

        static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

        static AttributeProto Ints(string name, long[] values)
        {
            var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
            attribute.Ints.AddRange(values);
            return attribute;
        }

        public GraphProto Build((long height, long width)? size)
        {
            graph.Input.Add(Value(InputName, size is { } fixedSize
                ? [Symbol("batch"), Fixed(3), Fixed(fixedSize.height), Fixed(fixedSize.width)]
                : [Symbol("batch"), Fixed(3), Symbol("height"), Symbol("width")]));
            graph.Output.Add(Value(OutputName, [Symbol("batch"), Fixed(fc.out_features)]));
            return graph;
        }

        static TensorShapeProto.Types.Dimension Symbol(string name) => new() { DimParam = name };

        static TensorShapeProto.Types.Dimension Fixed(long size) => new() { DimValue = size };

        static ValueInfoProto Value(string name, TensorShapeProto.Types.Dimension[] dims)
        {
            var shape = new TensorShapeProto();
            shape.Dim.AddRange(dims);
            return new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
            };
        }
    }
}
