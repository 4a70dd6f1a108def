using Google.Protobuf;
using Onnx;

namespace TorchVisionModels.Onnx;

/// <summary>
/// An ONNX file's <c>metadata_props</c>, read without loading the model: the graph (the weights) is skipped, not
/// parsed, so asking what a file is costs a few reads instead of an ONNX Runtime session (about 1 s for ResNet-50).
/// </summary>
public static class OnnxModelMetadata
{
    const int MetadataPropsField = 14; // ModelProto.metadata_props in onnx.proto

    /// <summary>The metadata of the ONNX model in <paramref name="path"/>.</summary>
    /// <exception cref="InvalidProtocolBufferException">The file is not an ONNX model (an IOException).</exception>
    public static IReadOnlyDictionary<string, string> Read(string path)
    {
        using var file = File.OpenRead(path);
        using var input = new CodedInputStream(file);
        var metadata = new Dictionary<string, string>();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            if (WireFormat.GetTagFieldNumber(tag) != MetadataPropsField)
            {
                input.SkipLastField();
                continue;
            }
            var entry = new StringStringEntryProto();
            input.ReadMessage(entry);
            metadata[entry.Key] = entry.Value;
        }
        return metadata;
    }
}
