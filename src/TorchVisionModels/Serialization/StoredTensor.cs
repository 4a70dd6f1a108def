using static TorchSharp.torch;

namespace TorchVisionModels.Serialization;

/// <summary>
/// A tensor in a checkpoint file, known by its dtype and shape before its data is read, so that keys and shapes
/// can be checked, and skipped tensors never read, before anything is loaded.
/// </summary>
public sealed class StoredTensor
{
    readonly Func<Tensor> read;

    internal StoredTensor(ScalarType dtype, long[] shape, Func<Tensor> read)
    {
        this.dtype = dtype;
        this.shape = shape;
        this.read = read;
    }

    /// <summary>The element type stored in the file.</summary>
    public ScalarType dtype { get; }

    /// <summary>The tensor's shape.</summary>
    public long[] shape { get; }

    /// <summary>Reads the data into a new CPU tensor (for PyTorch files, a view that shares its storage with the file's other views of it).</summary>
    public Tensor Read() => read();

    internal static long ElementSize(ScalarType dtype) => dtype switch
    {
        ScalarType.Bool or ScalarType.Byte or ScalarType.Int8 => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new InvalidDataException($"unsupported dtype {dtype}"),
    };

    /// <summary>Reads exactly <paramref name="count"/> elements from the stream into a new 1-D tensor.</summary>
    internal static Tensor ReadVector(Stream stream, ScalarType dtype, long count)
    {
        var tensor = empty(count, dtype);
        try
        {
            // Straight into the tensor's memory: a staging buffer per tensor (TorchSharp's ReadBytesFromStream)
            // made loading resnet50 mostly garbage collection.
            if (count * ElementSize(dtype) <= int.MaxValue)
                stream.ReadExactly(tensor.bytes);
            else
                tensor.ReadBytesFromStream(stream, bufferSize: 1 << 20);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }
}
