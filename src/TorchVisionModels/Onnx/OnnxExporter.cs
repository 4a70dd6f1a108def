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
        var graph = new GraphBuilder(foldBatchNorm);
        using (no_grad())
        using (NewDisposeScope())
        {
            var structure = ResNetStructure.Of(model);
            var x = graph.ConvNorm(InputName, structure.Stem);
            x = graph.Relu(x, "relu");
            x = graph.MaxPool(x, structure.MaxPool, "maxpool");
            foreach (var block in structure.Blocks)
                x = graph.Block(x, block);
            x = graph.Node("GlobalAveragePool", [x], "avgpool");
            x = graph.Node("Flatten", [x], "flatten", GraphBuilder.Int("axis", 1));
            graph.Gemm(x, model.fc, "fc", OutputName);
        }

        var onnx = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "TorchVisionResNet",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph.Build(model.fc.out_features, inputSize),
        };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            onnx.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return onnx;
    }

    /// <summary>Builds the graph node by node; names follow the module tree (layer1.0.conv1, ...).</summary>
    sealed class GraphBuilder(bool fold)
    {
        readonly GraphProto graph = new() { Name = "resnet" };

        /// <summary>The branch (Conv, norm, Relu between), the shortcut, Add, Relu.</summary>
        public string Block(string x, ResidualBlock block)
        {
            var branch = x;
            for (var i = 0; i < block.Branch.Count; i++)
            {
                branch = ConvNorm(branch, block.Branch[i]);
                if (i < block.Branch.Count - 1)
                    branch = Relu(branch, $"{block.Name}.relu{i + 1}");
            }
            var identity = block.Downsample is { } downsample ? ConvNorm(x, downsample) : x;
            return Relu(Node("Add", [branch, identity], $"{block.Name}.add"), $"{block.Name}.relu");
        }

        public string ConvNorm(string x, ConvNorm pair)
        {
            var (conv, norm, convName, normName) = (pair.Conv, pair.Norm, pair.ConvName, pair.NormName);
            if (norm is GroupNorm gn)
                return GroupNormalization(Conv(x, conv, convName, conv.weight!.detach(), conv.bias?.detach()), gn, normName);
            if (fold)
            {
                var (w, b) = BatchNormFolding.Fold(conv, norm, normName);
                return Conv(x, conv, convName, w, b);
            }
            var (scale, shift, mean, variance, eps) = BatchNormFolding.Parameters(norm, normName);
            var y = Conv(x, conv, convName, conv.weight!.detach(), conv.bias?.detach());
            return Node("BatchNormalization",
                [y, Initializer($"{normName}.weight", scale), Initializer($"{normName}.bias", shift),
                 Initializer($"{normName}.running_mean", mean), Initializer($"{normName}.running_var", variance)],
                normName, Float("epsilon", (float)eps));
        }

        /// <summary>
        /// GroupNorm as ops of every opset: [N, C, H, W] reshaped to [N, G, C/G*H*W], InstanceNormalization (unit
        /// scale, zero shift) normalises each group, reshaped back, then the per-channel affine as Mul and Add.
        /// </summary>
        string GroupNormalization(string x, GroupNorm gn, string name)
        {
            var groups = gn.num_groups;
            using var unitScale = ones(groups);
            using var zeroShift = zeros(groups);
            var grouped = Node("Reshape", [x, Constant($"{name}.grouped_shape", [0, groups, -1])], $"{name}.group");
            var normalised = Node("InstanceNormalization", [grouped, Initializer($"{name}.unit_scale", unitScale), Initializer($"{name}.zero_shift", zeroShift)],
                $"{name}.normalise", Float("epsilon", (float)gn.eps));
            var shape = Node("Shape", [x], $"{name}.shape");
            var y = Node("Reshape", [normalised, shape], $"{name}.ungroup");
            if (gn.weight is { } weight)
                y = Node("Mul", [y, Initializer($"{name}.weight", weight.detach().view(-1, 1, 1))], $"{name}.scale");
            if (gn.bias is { } bias)
                y = Node("Add", [y, Initializer($"{name}.bias", bias.detach().view(-1, 1, 1))], $"{name}.shift");
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

        public string Relu(string x, string name) => Node("Relu", [x], name);

        public string MaxPool(string x, MaxPool2d pool, string name)
        {
            // PyTorch's defaults: stride = kernel size, no padding.
            var padding = pool.padding ?? [0, 0];
            return Node("MaxPool", [x], name, Ints("kernel_shape", pool.kernel_size), Ints("strides", pool.stride ?? pool.kernel_size),
                Ints("pads", [.. padding, .. padding]));
        }

        public void Gemm(string x, Linear fc, string name, string output)
            => Node("Gemm", [x, Initializer($"{name}.weight", fc.weight!.detach()), Initializer($"{name}.bias", fc.bias!.detach())],
                name, output, Int("transB", 1));

        public string Node(string op, string[] inputs, string name, params AttributeProto[] attributes) => Node(op, inputs, name, name, attributes);

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

        public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

        static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

        static AttributeProto Ints(string name, long[] values)
        {
            var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
            attribute.Ints.AddRange(values);
            return attribute;
        }

        public GraphProto Build(long classes, (long height, long width)? size)
        {
            graph.Input.Add(Value(InputName, size is { } fixedSize
                ? [Symbol("batch"), Fixed(3), Fixed(fixedSize.height), Fixed(fixedSize.width)]
                : [Symbol("batch"), Fixed(3), Symbol("height"), Symbol("width")]));
            graph.Output.Add(Value(OutputName, [Symbol("batch"), Fixed(classes)]));
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
