using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace TorchVisionModels.Datasets;

/// <summary>A stable 64-bit hash of a path (the first bytes of its UTF-8 SHA-256): the same on every machine and run.</summary>
public static class PathHash
{
    /// <summary>The hash of <paramref name="path"/>.</summary>
    public static ulong Of(string path)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(path), hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash);
    }
}
