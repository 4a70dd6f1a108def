using System.Text;
using static TorchSharp.torch;

namespace TorchVisionModels.Serialization;

/// <summary>
/// TorchSharp's <c>Module.save</c> format: a LEB128 entry count, then per entry a length-prefixed UTF-8 name, the
/// dtype, rank and shape as LEB128 numbers, and the raw data. It has no magic number, so it is recognised by
/// parsing: every entry must be well-formed and the last must end the file.
/// </summary>
static class TorchSharpFormat
{
    public static PickleDictionary Read(FileStream file)
    {
        using var reader = new BinaryReader(file, Encoding.UTF8, leaveOpen: true);
        var count = Leb128(reader);
        if (count < 0 || count > file.Length)
            throw new InvalidDataException("it does not start with an entry count");
        var tensors = new PickleDictionary();
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var dtype = (ScalarType)Leb128(reader);
            var rank = Leb128(reader);
            if (rank is < 0 or > 16)
                throw new InvalidDataException($"entry {name} has rank {rank}");
            var shape = new long[rank];
            for (var d = 0; d < rank; d++)
                shape[d] = Leb128(reader);
            var countOfElements = shape.Aggregate(1L, (a, b) => a * b);
            var start = file.Position;
            var bytes = countOfElements * StoredTensor.ElementSize(dtype);
            if (shape.Any(d => d < 0) || bytes > file.Length - start)
                throw new InvalidDataException($"entry {name} runs past the end of the file");
            file.Position = start + bytes;
            tensors[name] = new StoredTensor(dtype, shape, () =>
            {
                file.Position = start;
                using var vector = StoredTensor.ReadVector(file, dtype, countOfElements);
                return vector.reshape(shape);
            });
        }
        if (file.Position != file.Length)
            throw new InvalidDataException("it has data after its last entry");
        return tensors;
    }

    static long Leb128(BinaryReader reader)
    {
        long value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = reader.ReadByte();
            value |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw new InvalidDataException("it has a malformed number");
    }
}
