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
        var graph = new OnnxGraph();
        using (no_grad())
        using (NewDisposeScope())
            ResNetStructure.Of(model).Forward(InputName, new GraphBuilder(graph, foldBatchNorm, model.fc));
        return graph.ToModel(model.fc.out_features, opset, metadata, inputSize);
    }

    /// <summary>Builds the graph node by node, as the description's operations; names follow the module tree (layer1.0.conv1, ...).</summary>
    sealed class GraphBuilder(OnnxGraph graph, bool fold, Linear fc) : IResNetOperations<ConvNorm, string>
    {
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
                    return graph.Node("BatchNormalization",
                        [y, graph.Initializer($"{normName}.weight", perChannel.Scale), graph.Initializer($"{normName}.bias", perChannel.Shift),
                         graph.Initializer($"{normName}.running_mean", perChannel.Mean), graph.Initializer($"{normName}.running_var", perChannel.Variance)],
                        normName, OnnxGraph.Float("epsilon", (float)perChannel.Eps));
                default:
                    throw new System.Diagnostics.UnreachableException("A NormEvaluation is PerChannel or PerGroup.");
            }
        }

        public string Relu(string x, string name) => graph.Node("Relu", [x], name);

        public string MaxPool(string x, Pool pool) => graph.Node("MaxPool", [x], "maxpool", OnnxGraph.PoolAttributes(pool));

        public string Add(string branch, string shortcut, string name) => graph.Node("Add", [branch, shortcut], name);

        public string AveragePool(string x) => graph.Node("Flatten", [graph.Node("GlobalAveragePool", [x], "avgpool")], "flatten", OnnxGraph.Int("axis", 1));

        public string Fc(string x)
            => graph.Node("Gemm", [x, graph.Initializer("fc.weight", fc.weight!.detach()), graph.Initializer("fc.bias", fc.bias!.detach())], "fc", OutputName,
                OnnxGraph.Int("transB", 1));

        /// <summary>
        /// GroupNorm as ops of every opset: [N, C, H, W] reshaped to [N, G, C/G*H*W], InstanceNormalization (unit
        /// scale, zero shift) normalises each group, reshaped back, then the per-channel affine as Mul and Add.
        /// </summary>
        string GroupNormalization(string x, NormEvaluation.PerGroup gn, string name)
        {
            var groups = gn.Groups;
            using var unitScale = ones(groups);
            using var zeroShift = zeros(groups);
            var grouped = graph.Node("Reshape", [x, graph.Constant($"{name}.grouped_shape", [0, groups, -1])], $"{name}.group");
            var normalised = graph.Node("InstanceNormalization",
                [grouped, graph.Initializer($"{name}.unit_scale", unitScale), graph.Initializer($"{name}.zero_shift", zeroShift)],
                $"{name}.normalise", OnnxGraph.Float("epsilon", (float)gn.Eps));
            var shape = graph.Node("Shape", [x], $"{name}.shape");
            var y = graph.Node("Reshape", [normalised, shape], $"{name}.ungroup");
            if (gn.Weight is { } weight)
                y = graph.Node("Mul", [y, graph.Initializer($"{name}.weight", weight.view(-1, 1, 1))], $"{name}.scale");
            if (gn.Bias is { } bias)
                y = graph.Node("Add", [y, graph.Initializer($"{name}.bias", bias.view(-1, 1, 1))], $"{name}.shift");
            return y;
        }

        string Conv(string x, Convolution conv, string name, Tensor weight, Tensor? bias)
        {
            var inputs = bias is null
                ? new[] { x, graph.Initializer($"{name}.weight", weight) }
                : [x, graph.Initializer($"{name}.weight", weight), graph.Initializer($"{name}.bias", bias)];
            return graph.Node("Conv", inputs, name, OnnxGraph.ConvAttributes(conv));
        }
    }
}
