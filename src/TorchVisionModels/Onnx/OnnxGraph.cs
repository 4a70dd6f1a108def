using Google.Protobuf;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TorchVisionModels.Onnx;

/// <summary>
/// An ONNX graph being written: nodes, initializers and attributes, then the model around it. The float32 exporter
/// and the int8 one write through this, so each names a node or stores a tensor one way.
/// </summary>
sealed class OnnxGraph
{
    readonly GraphProto graph = new() { Name = "resnet" };

    /// <summary>Adds a node whose output is named after it; returns the output's name.</summary>
    public string Node(string op, string[] inputs, string name, params AttributeProto[] attributes) => Node(op, inputs, name, name, attributes);

    /// <summary>Adds a node with the output <paramref name="output"/>; returns it.</summary>
    public string Node(string op, string[] inputs, string name, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return output;
    }

    /// <summary>A float32 initializer holding <paramref name="tensor"/>; returns its name.</summary>
    public string Initializer(string name, Tensor tensor)
    {
        using var data = tensor.to(float32).cpu().contiguous();
        var bytes = new byte[data.numel() * 4];
        data.bytes.CopyTo(bytes);
        return Initializer(name, TensorProto.Types.DataType.Float, data.shape, bytes);
    }

    /// <summary>An initializer of <paramref name="type"/> and <paramref name="shape"/> holding <paramref name="bytes"/> (little-endian, row-major); returns its name.</summary>
    public string Initializer(string name, TensorProto.Types.DataType type, long[] shape, byte[] bytes)
    {
        var proto = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        proto.Dims.AddRange(shape);
        graph.Initializer.Add(proto);
        return name;
    }

    /// <summary>An int64 initializer, for shapes.</summary>
    public string Constant(string name, long[] values)
    {
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        graph.Initializer.Add(proto);
        return name;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>The attributes of <paramref name="conv"/>'s Conv node.</summary>
    public static AttributeProto[] ConvAttributes(Convolution conv)
        => [Ints("kernel_shape", conv.kernel_size), Ints("strides", conv.stride), Ints("dilations", conv.dilation), Ints("pads", [.. conv.padding!, .. conv.padding!]), Int("group", conv.groups)];

    /// <summary>The attributes of a MaxPool node over <paramref name="pool"/>'s window.</summary>
    public static AttributeProto[] PoolAttributes(Pool pool)
        => [Ints("kernel_shape", pool.Kernel), Ints("strides", pool.Stride), Ints("pads", [.. pool.Padding, .. pool.Padding])];

    /// <summary>
    /// The model: this graph with its input (float32 images, the batch dynamic; the height and width fixed at
    /// <paramref name="inputSize"/> or dynamic) and its output (float32 logits), the opset and the metadata.
    /// </summary>
    public ModelProto ToModel(long classes, int opset, IReadOnlyDictionary<string, string>? metadata, (long height, long width)? inputSize)
    {
        if (opset is < 13 or > 17)
            throw new ArgumentOutOfRangeException(nameof(opset), opset, "The exporter writes opsets 13 to 17.");
        graph.Input.Add(Value(OnnxExporter.InputName, inputSize is { } size
            ? [Symbol("batch"), Fixed(3), Fixed(size.height), Fixed(size.width)]
            : [Symbol("batch"), Fixed(3), Symbol("height"), Symbol("width")]));
        graph.Output.Add(Value(OnnxExporter.OutputName, [Symbol("batch"), Fixed(classes)]));
        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "TorchVisionResNet",
            ProducerVersion = typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
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
