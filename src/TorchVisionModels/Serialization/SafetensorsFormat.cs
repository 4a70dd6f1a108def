using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace TorchVisionModels.Serialization;

/// <summary>
/// Hugging Face's safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
/// shape and byte range, then the data. No code, no pickle.
/// </summary>
static class SafetensorsFormat
{
    static readonly Dictionary<string, ScalarType> DTypes = new()
    {
        ["F64"] = ScalarType.Float64, ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16, ["BF16"] = ScalarType.BFloat16,
        ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32, ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8,
        ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    const long MaxHeader = 100 << 20;

    public static bool Matches(ReadOnlySpan<byte> head, long length)
    {
        if (head.Length < 9)
            return false;
        var header = BinaryPrimitives.ReadUInt64LittleEndian(head);
        return header <= MaxHeader && (long)header + 8 <= length && head[8] == (byte)'{';
    }

    /// <summary>The file's tensors, in header order, read from <paramref name="file"/> when asked.</summary>
    public static PickleDictionary Read(FileStream file)
    {
        var prefix = new byte[8];
        file.ReadExactly(prefix);
        var length = (long)BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        var json = new byte[length];
        file.ReadExactly(json);
        var start = 8 + length;
        var size = file.Length - start;

        var tensors = new PickleDictionary();
        using var header = JsonDocument.Parse(json);
        foreach (var property in header.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
                continue;
            var entry = property.Value;
            var name = entry.GetProperty("dtype").GetString() ?? "";
            if (!DTypes.TryGetValue(name, out var dtype))
                throw new InvalidDataException($"tensor {property.Name} has a dtype {name} this library does not read");
            var shape = entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var count = shape.Aggregate(1L, (a, b) => a * b);
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] > size || offsets[1] - offsets[0] != count * StoredTensor.ElementSize(dtype))
                throw new InvalidDataException($"tensor {property.Name}'s byte range does not fit its shape or the file");
            tensors[property.Name] = new StoredTensor(dtype, shape, () =>
            {
                file.Position = start + offsets[0];
                using var vector = StoredTensor.ReadVector(file, dtype, count);
                return vector.reshape(shape);
            });
        }
        return tensors;
    }

    /// <summary>Writes the tensors with their keys, in order, and the "format": "pt" metadata PyTorch users expect.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var contiguous = new List<Tensor>();
        try
        {
            var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
            long offset = 0;
            foreach (var (key, tensor) in tensors)
            {
                using (NewDisposeScope())
                    contiguous.Add(tensor.detach().to(CPU).contiguous().DetachFromDisposeScope());
                var data = contiguous[^1];
                var dtype = DTypes.FirstOrDefault(d => d.Value == data.dtype).Key ?? throw new ArgumentException($"safetensors has no dtype for {data.dtype}");
                var bytes = data.numel() * data.ElementSize;
                header[key] = new JsonObject
                {
                    ["dtype"] = dtype,
                    ["shape"] = new JsonArray(data.shape.Select(d => (JsonNode)d).ToArray()),
                    ["data_offsets"] = new JsonArray(offset, offset + bytes),
                };
                offset += bytes;
            }
            var json = Encoding.UTF8.GetBytes(header.ToJsonString());
            // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
            var padded = (json.Length + 7) / 8 * 8;
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
            stream.Write(prefix);
            stream.Write(json);
            for (var i = json.Length; i < padded; i++)
                stream.WriteByte((byte)' ');
            foreach (var data in contiguous)
                data.WriteBytesToStream(stream, bufferSize: 1 << 20);
        }
        finally
        {
            foreach (var data in contiguous)
                data.Dispose();
        }
    }
}
