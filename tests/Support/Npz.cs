using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace TestSupport;

/// <summary>
/// numpy's .npz (a zip of .npy arrays), the format the fixture generator writes PyTorch's ground truth in: read here
/// by the tests' own few lines, so no reader of the library is its own oracle.
/// </summary>
static partial class Npz
{
    /// <summary>Every array of the file, by its name in <c>numpy.savez</c>.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.Entries.ToDictionary(e => e.FullName[..^".npy".Length], e =>
        {
            using var stream = e.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            return ReadNpy(memory.ToArray(), $"{path}:{e.FullName}");
        });
    }

    /// <summary>One .npy array: magic, version, a header that is a Python dict literal, then the little-endian data.</summary>
    static Tensor ReadNpy(byte[] bytes, string name)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || !bytes.AsSpan(1, 5).SequenceEqual("NUMPY"u8))
            throw new InvalidDataException($"{name} is not a .npy array");
        var (length, start) = bytes[6] == 1 ? (BitConverter.ToUInt16(bytes, 8), 10) : ((int)BitConverter.ToUInt32(bytes, 8), 12);
        var header = Encoding.ASCII.GetString(bytes, start, length);
        var match = Header().Match(header);
        if (!match.Success || match.Groups["fortran"].Value != "False")
            throw new InvalidDataException($"{name}: unexpected header {header}");
        var shape = match.Groups["shape"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        var data = bytes.AsSpan(start + length);
        var flat = match.Groups["descr"].Value switch
        {
            "<f4" => tensor(MemoryMarshal.Cast<byte, float>(data).ToArray()),
            "<f8" => tensor(MemoryMarshal.Cast<byte, double>(data).ToArray()),
            "<i8" => tensor(MemoryMarshal.Cast<byte, long>(data).ToArray()),
            "<i4" => tensor(MemoryMarshal.Cast<byte, int>(data).ToArray()),
            "|u1" => tensor(data.ToArray()),
            var other => throw new InvalidDataException($"{name}: dtype {other} is not one the fixtures use"),
        };
        using (flat)
            return flat.reshape(shape);
    }

    [GeneratedRegex(@"'descr':\s*'(?<descr>[^']+)',\s*'fortran_order':\s*(?<fortran>\w+),\s*'shape':\s*\((?<shape>[^)]*)\)")]
    private static partial Regex Header();
}
