using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace TorchVisionModels.Transforms;

/// <summary>
/// Pillow refuses a PNG whose zTXt, compressed iTXt or iCCP chunk inflates past 1 MB ("Decompressed Data Too Large":
/// a decompression bomb, a few hundred KB of file inflating to gigabytes); ImageSharp would inflate it whole. This
/// finds such a chunk first, inflating no chunk past the limit.
/// </summary>
static class PngCompressedChunks
{
    /// <summary>Pillow's MAX_TEXT_CHUNK (ImageFile.SAFEBLOCK).</summary>
    public const int Limit = 1024 * 1024;

    static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

    /// <summary>For a PNG, the type of the first compressed chunk that inflates past <see cref="Limit"/>; otherwise null. Leaves the stream at its start.</summary>
    public static string? FirstTooLarge(Stream stream)
    {
        try
        {
            Span<byte> header = stackalloc byte[8];
            if (stream.ReadAtLeast(header, 8, throwOnEndOfStream: false) != 8 || !header.SequenceEqual(Signature))
                return null;
            while (stream.ReadAtLeast(header, 8, throwOnEndOfStream: false) == 8)
            {
                var length = BinaryPrimitives.ReadUInt32BigEndian(header);
                var type = Encoding.ASCII.GetString(header[4..]);
                if (type == "IEND" || length > stream.Length - stream.Position)
                    return null;
                if (type is "zTXt" or "iTXt" or "iCCP")
                {
                    var data = new byte[length];
                    stream.ReadExactly(data);
                    if (CompressedPart(type, data) is { } compressed && InflatesPastLimit(compressed))
                        return type;
                }
                else
                {
                    stream.Seek(length, SeekOrigin.Current);
                }
                stream.Seek(4, SeekOrigin.Current); // CRC
            }
            return null;
        }
        finally
        {
            stream.Position = 0;
        }
    }

    /// <summary>The zlib stream inside a chunk: after "keyword\0method" (zTXt, iCCP), or for a compressed iTXt after "keyword\0 flag method language\0 translated\0".</summary>
    static ReadOnlyMemory<byte>? CompressedPart(string type, byte[] data)
    {
        var keyword = Array.IndexOf(data, (byte)0);
        if (keyword < 0)
            return null;
        if (type != "iTXt")
            return data.AsMemory(Math.Min(keyword + 2, data.Length));
        if (keyword + 2 >= data.Length || data[keyword + 1] != 1)
            return null; // not compressed
        var language = Array.IndexOf(data, (byte)0, keyword + 3);
        var translated = language < 0 ? -1 : Array.IndexOf(data, (byte)0, language + 1);
        return translated < 0 ? null : data.AsMemory(translated + 1);
    }

    static bool InflatesPastLimit(ReadOnlyMemory<byte> compressed)
    {
        try
        {
            using var inflate = new ZLibStream(new MemoryStream(compressed.ToArray()), CompressionMode.Decompress);
            var buffer = new byte[64 * 1024];
            long total = 0;
            int read;
            while ((read = inflate.Read(buffer)) > 0)
            {
                total += read;
                if (total > Limit)
                    return true;
            }
            return false;
        }
        catch (InvalidDataException)
        {
            return false; // a corrupt text chunk: the decoders skip it, as Pillow does
        }
    }
}
