using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace TorchVisionModels.Serialization;

/// <summary>
/// torch.save's zip format (PyTorch 1.6 and later): <c>archive/data.pkl</c> pickles the object, each tensor's
/// storage is a record <c>archive/data/KEY</c>, and tensors are views (offset, size, stride) of storages.
/// </summary>
static class PyTorchFormat
{
    static readonly Dictionary<string, ScalarType> Storages = new()
    {
        ["FloatStorage"] = ScalarType.Float32, ["DoubleStorage"] = ScalarType.Float64, ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool, ["ComplexFloatStorage"] = ScalarType.ComplexFloat32,
        ["ComplexDoubleStorage"] = ScalarType.ComplexFloat64,
    };

    public static bool Matches(ReadOnlySpan<byte> head) => head.StartsWith("PK\x03\x04"u8);

    /// <summary>torch.save's pre-1.6 format starts with a pickled magic number.</summary>
    public static bool MatchesLegacy(ReadOnlySpan<byte> head) => head.StartsWith((ReadOnlySpan<byte>)[0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);

    /// <summary>
    /// Unpickles the archive's object; its tensors are <see cref="StoredTensor"/>s read from the open archive. Each
    /// storage is read once, when a tensor on it is first read, and added to <paramref name="storages"/> for the
    /// caller to dispose (tensors read from it stay valid: they share its memory).
    /// </summary>
    public static object? Read(ZipArchive archive, ICollection<Tensor> storages)
    {
        var pickle = archive.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
            ?? throw new InvalidDataException("it is a zip file without the data.pkl record torch.save writes");
        var prefix = pickle.FullName[..^"data.pkl".Length];
        if (archive.GetEntry(prefix + "byteorder") is { } byteorder && ReadText(byteorder) != "little")
            throw new InvalidDataException("its tensors are stored big-endian");

        var byKey = new Dictionary<string, Storage>();
        object? PersistentLoad(object? pid)
        {
            if (pid is not object?[] { Length: 5 } id || id[0] is not "storage" || id[1] is not PickleGlobal type || id[2] is not string key || id[4] is not long numel)
                throw new InvalidDataException("its pickle refers to something other than a tensor storage");
            if (type.module != "torch" || !Storages.TryGetValue(type.name, out var dtype))
                throw new InvalidDataException($"its pickle uses an unknown storage type {type}");
            if (byKey.TryGetValue(key, out var known))
                return known;
            var entry = archive.GetEntry($"{prefix}data/{key}") ?? throw new InvalidDataException($"its storage record data/{key} is missing");
            if (entry.Length < numel * StoredTensor.ElementSize(dtype))
                throw new InvalidDataException($"its storage record data/{key} is shorter than the storage");
            var storage = new Storage(new Lazy<Tensor>(() =>
            {
                using var data = entry.Open();
                var vector = StoredTensor.ReadVector(data, dtype, numel).DetachFromDisposeScope();
                storages.Add(vector);
                return vector;
            }), dtype, numel);
            byKey.Add(key, storage);
            return storage;
        }

        using var pickled = new MemoryStream((int)Math.Clamp(pickle.Length, 0, MaxPickleBytes));
        using (var data = pickle.Open())
            CopyAtMost(data, pickled, MaxPickleBytes, "its data.pkl record inflates past 64 MB: a checkpoint's pickle is a few KB to a few MB, so this is not one");
        pickled.Position = 0;
        return new PickleReader(pickled, PersistentLoad, Reduce).Load();
    }

    /// <summary>
    /// The largest data.pkl read. The pickle holds the structure, not the tensors: a state dict's is a few KB, a
    /// training checkpoint's a few MB; a record past this is an attack (zeros inflate a thousandfold).
    /// </summary>
    const int MaxPickleBytes = 64 << 20;

    /// <summary>Copies at most <paramref name="limit"/> bytes, whatever the zip's header claims; past them, refuses with <paramref name="refusal"/>.</summary>
    static void CopyAtMost(Stream source, Stream target, long limit, string refusal)
    {
        var buffer = new byte[81920];
        for (int read; (read = source.Read(buffer)) > 0;)
        {
            if (target.Length + read > limit)
                throw new InvalidDataException(refusal);
            target.Write(buffer, 0, read);
        }
    }

    sealed record Storage(Lazy<Tensor> data, ScalarType dtype, long numel);

    static object? Reduce(PickleGlobal global, object?[] args) => (global.module, global.name) switch
    {
        ("collections", "OrderedDict") when args.Length == 0 => new PickleDictionary(),
        ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_tensor") => RebuildTensor(args),
        // A Parameter saved in a dict: its data is the tensor.
        ("torch._utils", "_rebuild_parameter" or "_rebuild_parameter_with_state") when args.Length >= 1 && args[0] is StoredTensor data => data,
        _ => new PickleObject(global, args),
    };

    static StoredTensor RebuildTensor(object?[] args)
    {
        if (args.Length < 4 || args[0] is not Storage storage || args[1] is not long offset || args[2] is not object?[] size || args[3] is not object?[] stride
            || size.Length != stride.Length || size.Concat(stride).Any(v => v is not long))
            throw new InvalidDataException("it rebuilds a tensor from arguments torch.save does not write");
        var shape = size.Cast<long>().ToArray();
        var strides = stride.Cast<long>().ToArray();
        if (offset < 0 || shape.Any(n => n < 0) || strides.Any(s => s < 0) || !WithinStorage(offset, shape, strides, storage.numel))
            throw new InvalidDataException("one of its tensors lies outside its storage");
        return new StoredTensor(storage.dtype, shape, () => storage.data.Value.as_strided(shape, strides, offset));
    }

    /// <summary>
    /// Whether the view's last element is inside the storage. Checked arithmetic: strides whose products overflow
    /// would otherwise wrap round to "inside" and reach libtorch, which crashes on them.
    /// </summary>
    static bool WithinStorage(long offset, long[] shape, long[] strides, long numel)
    {
        if (shape.Any(n => n == 0))
            return true;
        try
        {
            var last = offset;
            var elements = 1L;
            for (var i = 0; i < shape.Length; i++)
            {
                last = checked(last + (shape[i] - 1) * strides[i]);
                elements = checked(elements * shape[i]);
            }
            return last < numel;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    static string ReadText(ZipArchiveEntry entry)
    {
        using var reader = new StreamReader(entry.Open(), Encoding.ASCII);
        return reader.ReadToEnd().Trim();
    }

    /// <summary>Writes <paramref name="root"/> the way torch.save does; each tensor gets its own contiguous storage.</summary>
    public static void Write(Stream stream, object? root)
    {
        using var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        var storages = new List<Tensor>();

        object? Persist(object? value) => value switch
        {
            Tensor tensor => TensorCall(tensor, storages),
            PickleWriter.OrderedDict dict => new PickleWriter.OrderedDict(dict.items.Select(kv => KeyValuePair.Create(kv.Key, Persist(kv.Value))).ToList()),
            System.Collections.IDictionary dict => PickleWriter.Entries(dict).ToDictionary(e => e.Key, e => Persist(e.Value)),
            object?[] tuple => tuple.Select(Persist).ToArray(),
            System.Collections.IList list => list.Cast<object?>().Select(Persist).ToList(),
            _ => value,
        };

        try
        {
            var pickled = Persist(root);
            using (var data = archive.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open())
                new PickleWriter(data).Dump(pickled);
            WriteText(archive, "archive/byteorder", "little");
            for (var i = 0; i < storages.Count; i++)
            {
                using var data = archive.CreateEntry($"archive/data/{i}", CompressionLevel.NoCompression).Open();
                storages[i].WriteBytesToStream(data, bufferSize: 1 << 20);
            }
            WriteText(archive, "archive/version", "3\n");
        }
        finally
        {
            foreach (var storage in storages)
                storage.Dispose();
        }
    }

    static PickleWriter.Call TensorCall(Tensor tensor, List<Tensor> storages)
    {
        Tensor data;
        using (NewDisposeScope())
            data = tensor.detach().to(CPU).contiguous().DetachFromDisposeScope();
        var key = storages.Count.ToString();
        storages.Add(data);
        var name = Storages.FirstOrDefault(s => s.Value == data.dtype).Key ?? throw new ArgumentException($"torch.save has no storage type for {data.dtype}");
        var storage = new PickleWriter.PersistentId(["storage", new PickleGlobal("torch", name), key, "cpu", data.numel()]);
        return new PickleWriter.Call(new PickleGlobal("torch._utils", "_rebuild_tensor_v2"),
        [
            storage, 0L, data.shape.Cast<object?>().ToArray(), data.stride().Cast<object?>().ToArray(), false,
            new PickleWriter.OrderedDict([]),
        ]);
    }

    static void WriteText(ZipArchive archive, string name, string text)
    {
        using var writer = new StreamWriter(archive.CreateEntry(name, CompressionLevel.NoCompression).Open(), new UTF8Encoding(false));
        writer.Write(text);
    }
}
