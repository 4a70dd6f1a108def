using Google.Protobuf;
using Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace TorchVisionModels.Onnx;

/// <summary>
/// Exports a <see cref="ResNet"/> as a statically quantized ONNX model in QDQ form, which ONNX Runtime's CPU provider
/// runs as integer kernels: each convolution (its norm layer folded in) with int8 weights per output channel, an int32
/// bias, and uint8 activations per tensor, from calibrated <see cref="ActivationRange"/>s. Every activation is
/// quantized once, where it is made, with a DequantizeLinear for each consumer:
/// <list type="bullet">
/// <item>a ReLU is not a node: its input is quantized over the ReLU's range, whose zero point is 0, so the
/// quantization's saturation at 0 is the ReLU (ONNX Runtime's own quantizer removes them the same way);</item>
/// <item>max pooling keeps its input's scale and zero point (the maximum commutes with the quantization), so it runs
/// on the uint8 values;</item>
/// <item>the residual sum is dequantized, added and quantized (QLinearAdd once fused), its ReLU as above;</item>
/// <item>global average pooling is quantized, flattened on the uint8 values, and fc takes them with int8 weights and
/// returns float32 logits.</item>
/// </list>
/// The input and output are float32 as <see cref="OnnxExporter"/>'s are, so the two files are used alike.
/// </summary>
public static class Int8Exporter
{
    /// <summary>Writes the quantized <paramref name="model"/> to <paramref name="path"/> (atomically).</summary>
    /// <param name="model">The network; its current weights, eval-mode normalisation folded in.</param>
    /// <param name="ranges">The activations' ranges, from <see cref="Calibration.Ranges"/> on this model.</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <param name="opset">The ONNX opset, 13 to 17.</param>
    /// <param name="metadata">Written into the model's metadata_props.</param>
    /// <param name="inputSize">Fix the input's height and width; null leaves them dynamic.</param>
    /// <exception cref="NotSupportedException">A norm layer does not fold into its convolution (GroupNorm); the message names it.</exception>
    /// <exception cref="ArgumentException"><paramref name="ranges"/> lacks an activation (they were calibrated on another model).</exception>
    public static void Export(ResNet model, IReadOnlyDictionary<string, ActivationRange> ranges, string path, int opset = 17,
        IReadOnlyDictionary<string, string>? metadata = null, (long height, long width)? inputSize = null)
    {
        var proto = ToModel(model, ranges, opset, metadata, inputSize);
        Serialization.StateDictFiles.WriteAtomically(path, stream => proto.WriteTo(stream));
    }

    /// <summary>The quantized model, in memory; the arguments are <see cref="Export"/>'s.</summary>
    public static ModelProto ToModel(ResNet model, IReadOnlyDictionary<string, ActivationRange> ranges, int opset = 17,
        IReadOnlyDictionary<string, string>? metadata = null, (long height, long width)? inputSize = null)
    {
        EnsureQuantizable(model);
        var graph = new OnnxGraph();
        using (no_grad())
        using (NewDisposeScope())
            ResNetStructure.Of(model).Forward(new Activation(OnnxExporter.InputName, "input"), new QdqBuilder(graph, ranges, model.fc));
        return graph.ToModel(model.fc.out_features, opset, metadata, inputSize);
    }

    /// <summary>Refuses, before any work, a model that does not quantize: one whose norm layers do not all fold into their convolutions.</summary>
    /// <exception cref="NotSupportedException">A norm layer does not fold (GroupNorm); the message names it.</exception>
    public static void EnsureQuantizable(ResNet model)
    {
        foreach (var pair in ResNetStructure.Of(model).Convolutions)
        {
            using var scope = NewDisposeScope();
            if (pair.Evaluate() is not NormEvaluation.PerChannel)
                throw new NotSupportedException($"{pair.NormName} normalises each image by its own statistics, so it does not fold into {pair.ConvName}, "
                    + "and int8 quantizes folded convolutions only: run this model in float32, or train it with BatchNorm.");
        }
    }

    /// <summary>A float tensor in the graph and the range it is quantized over; <paramref name="IsQuantized"/> when the tensor already holds the uint8 values.</summary>
    sealed record Activation(string Tensor, string Range, bool IsQuantized = false);

    sealed class QdqBuilder(OnnxGraph graph, IReadOnlyDictionary<string, ActivationRange> ranges, Linear fc) : IResNetOperations<ConvNorm, Activation>
    {
        readonly Dictionary<string, string> quantizedTensors = [];
        readonly HashSet<string> parameters = [];

        public Activation ConvNorm(Activation x, ConvNorm pair)
        {
            var (weight, bias) = BatchNormFolding.Fold(pair.Conv, (NormEvaluation.PerChannel)pair.Evaluate());
            var name = pair.ConvName;
            var y = graph.Node("Conv", [Dequantized(x, name), .. WeightAndBias(name, weight, bias, Parameters(x.Range).Scale)], name, OnnxGraph.ConvAttributes(pair.Conv));
            return new(y, name);
        }

        public Activation Relu(Activation x, string name) => x with { Range = name };

        public Activation MaxPool(Activation x, Pool pool) => new(graph.Node("MaxPool", [Dequantized(x, "maxpool")], "maxpool", OnnxGraph.PoolAttributes(pool)), x.Range);

        public Activation Add(Activation branch, Activation shortcut, string name) => new(graph.Node("Add", [Dequantized(branch, name), Dequantized(shortcut, name)], name), name);

        public Activation AveragePool(Activation x)
        {
            var pooled = new Activation(graph.Node("GlobalAveragePool", [Dequantized(x, "avgpool")], "avgpool"), "avgpool");
            return new(graph.Node("Flatten", [Quantized(pooled)], "flatten", OnnxGraph.Int("axis", 1)), "avgpool", IsQuantized: true);
        }

        public Activation Fc(Activation x)
        {
            var inputs = WeightAndBias("fc", fc.weight!.detach(), fc.bias!.detach(), Parameters(x.Range).Scale);
            return new(graph.Node("Gemm", [Dequantized(x, "fc"), .. inputs], "fc", OnnxExporter.OutputName, OnnxGraph.Int("transB", 1)), "fc");
        }

        /// <summary>The int8 weight and int32 bias, each through a DequantizeLinear per output channel.</summary>
        string[] WeightAndBias(string name, Tensor weight, Tensor bias, float inputScale)
        {
            var quantized = WeightQuantization.Of(weight);
            var channels = new long[] { quantized.Scales.Length };
            var w = graph.Initializer($"{name}.weight_quantized", DataType.Int8, weight.shape, Bytes(quantized.Values));
            var (biasValues, biasScales) = quantized.Bias(bias, inputScale);
            var b = graph.Initializer($"{name}.bias_quantized", DataType.Int32, channels, Bytes(biasValues));
            return
            [
                Dequantize(w, Floats($"{name}.weight_scale", quantized.Scales), graph.Initializer($"{name}.weight_zero_point", DataType.Int8, channels, new byte[channels[0]]), $"{name}.weight"),
                Dequantize(b, Floats($"{name}.bias_scale", biasScales), graph.Initializer($"{name}.bias_zero_point", DataType.Int32, channels, new byte[channels[0] * 4]), $"{name}.bias"),
            ];
        }

        string Dequantize(string quantized, string scale, string zeroPoint, string output)
            => graph.Node("DequantizeLinear", [quantized, scale, zeroPoint], $"{output}.dequantize", output, OnnxGraph.Int("axis", 0));

        /// <summary>The uint8 tensor of <paramref name="x"/>: its QuantizeLinear, written the first time it is asked for.</summary>
        string Quantized(Activation x)
        {
            if (x.IsQuantized)
                return x.Tensor;
            if (!quantizedTensors.TryGetValue(x.Tensor, out var q))
            {
                var (scale, zeroPoint) = ParameterNames(x.Range);
                q = quantizedTensors[x.Tensor] = graph.Node("QuantizeLinear", [x.Tensor, scale, zeroPoint], $"{x.Tensor}.quantize", $"{x.Tensor}.quantized");
            }
            return q;
        }

        /// <summary><paramref name="x"/> quantized and back, through a DequantizeLinear of <paramref name="consumer"/>'s own, as ONNX Runtime's fusions want.</summary>
        string Dequantized(Activation x, string consumer)
        {
            var (scale, zeroPoint) = ParameterNames(x.Range);
            var q = Quantized(x);
            return graph.Node("DequantizeLinear", [q, scale, zeroPoint], $"{q}.dequantize_for.{consumer}");
        }

        ActivationQuantization Parameters(string range) => ActivationQuantization.Of(ranges.TryGetValue(range, out var r) ? r
            : throw new ArgumentException($"The calibration ranges have none for {range}: calibrate this model (Calibration.Ranges) and export it with its own ranges."));

        /// <summary>The scale and zero point initializers of <paramref name="range"/>, written the first time they are asked for.</summary>
        (string Scale, string ZeroPoint) ParameterNames(string range)
        {
            var names = ($"{range}.scale", $"{range}.zero_point");
            if (parameters.Add(range))
            {
                var p = Parameters(range);
                Floats(names.Item1, [p.Scale], scalar: true);
                graph.Initializer(names.Item2, DataType.Uint8, [], [p.ZeroPoint]);
            }
            return names;
        }

        string Floats(string name, float[] values, bool scalar = false)
            => graph.Initializer(name, DataType.Float, scalar ? [] : [values.Length], Bytes(values));

        static byte[] Bytes<T>(T[] values) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }
}
