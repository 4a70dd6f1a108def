using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace TorchVisionModels.Transforms;

/// <summary>
/// Decodes image files to RGB as PIL's <c>Image.open(path).convert("RGB")</c> does: grayscale replicated, palettes
/// expanded, alpha dropped (not composited), the first frame of an animation, EXIF orientation not applied.
/// JPEG decodes through libjpeg-turbo as in Pillow (<see cref="Jpeg"/>), to Pillow's pixels exactly; PNG, BMP, GIF and
/// WebP through ImageSharp, whose decoders give Pillow's pixels for them. TIFF and the rest are off (ImageSharp 2.1's
/// TIFF decoder has open advisories), and images over <see cref="MaxImagePixels"/> are refused before their pixels are decoded.
/// </summary>
public static class ImageFile
{
    /// <summary>PIL's MAX_IMAGE_PIXELS, 1024 * 1024 * 1024 / 4 / 3: larger images are refused as likely decompression bombs.</summary>
    public const long MaxImagePixels = 1024L * 1024 * 1024 / 4 / 3;

    /// <summary>The file extensions of the decoded formats, for walking a folder.</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp",
    };

    /// <summary>Whether <paramref name="path"/> has one of the <see cref="Extensions"/>: a file a folder walk takes.</summary>
    public static bool HasImageExtension(string path) => Extensions.Contains(Path.GetExtension(path));

    static readonly Configuration Formats = new(
        new PngConfigurationModule(), new BmpConfigurationModule(), new GifConfigurationModule(), new WebpConfigurationModule())
    {
        // ImageSharp pools what it decodes into, by default up to an eighth of the machine's memory, kept for a
        // minute or more: a server that decoded one 9400x9400 PNG held 265 MB more for good. A small pool serves
        // photos; a larger image's memory goes back to the system when it is decoded.
        MemoryAllocator = SixLabors.ImageSharp.Memory.MemoryAllocator.Create(new SixLabors.ImageSharp.Memory.MemoryAllocatorOptions { MaximumPoolSizeMegabytes = 32 }),
    };

    /// <summary>Decodes <paramref name="path"/> to RGB.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="applyExifOrientation">Rotate and flip as the EXIF orientation says (PIL does not, so neither does the default).</param>
    /// <exception cref="ImageFileException">The file is missing, not a supported image, corrupt, or too large; the message names it.</exception>
    public static RgbImage Load(string path, bool applyExifOrientation = false)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Load(stream, path, applyExifOrientation);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageFileException($"{path} does not exist.", e);
        }
        catch (Exception e) when (e is IOException and not ImageFileException or UnauthorizedAccessException)
        {
            throw new ImageFileException($"{path} cannot be read: {e.Message.TrimEnd('.')}.", e);
        }
    }

    /// <summary>Decodes an image held in <paramref name="stream"/> (an upload, say) to RGB, with the same checks as a file.</summary>
    /// <param name="stream">The image's bytes; it must be seekable (a truncated file is told by its end).</param>
    /// <param name="name">What to call the image in messages.</param>
    /// <param name="applyExifOrientation">Rotate and flip as the EXIF orientation says.</param>
    /// <exception cref="ImageFileException">It is not a supported image, corrupt, or too large; the message names it.</exception>
    public static RgbImage Load(Stream stream, string name, bool applyExifOrientation = false)
    {
        if (Jpeg.Is(stream))
            return Jpeg.Decode(name, stream, applyExifOrientation);
        // Before ImageSharp reads the header, which inflates text chunks whole.
        if (PngCompressedChunks.FirstTooLarge(stream) is { } chunk)
            throw CompressedChunkTooLarge(name, chunk);
        return DecodeWithImageSharp(name, stream, applyExifOrientation);
    }

    /// <summary>
    /// The width and height of the image in <paramref name="stream"/>, from its header, after the checks
    /// <see cref="Load(Stream, string, bool)"/> makes before it decodes (format, PNG chunks, pixel limit): what a
    /// server budgets for (<see cref="DecodingBytes"/>) before it decodes. Leaves the stream at its start.
    /// </summary>
    /// <exception cref="ImageFileException">It is not a supported image, corrupt, or too large; the message names it.</exception>
    public static (int Width, int Height) Identify(Stream stream, string name)
    {
        if (Jpeg.Is(stream))
            return Jpeg.Identify(name, stream);
        if (PngCompressedChunks.FirstTooLarge(stream) is { } chunk)
            throw CompressedChunkTooLarge(name, chunk);
        try
        {
            var info = Image.Identify(Formats, stream) ?? throw NotAnImage(name);
            if ((long)info.Width * info.Height > MaxImagePixels)
                throw TooLarge(name, info.Width, info.Height);
            return (info.Width, info.Height);
        }
        catch (Exception e) when (e is not (ImageFileException or IOException or OutOfMemoryException))
        {
            throw Corrupt(name, e);
        }
        finally
        {
            stream.Position = 0;
        }
    }

    /// <summary>
    /// The most memory <see cref="Load(Stream, string, bool)"/> holds at once for an image of this size, without EXIF
    /// orientation: the decoder's pixels (4 bytes a pixel from libjpeg-turbo, 3 from ImageSharp, with its rows) and
    /// the RGB copy returned (3).
    /// </summary>
    public static long DecodingBytes(int width, int height) => 8L * width * height;

    static ImageFileException NotAnImage(string name) => new($"{name} is not a JPEG, PNG, BMP, GIF or WebP image.");

    static ImageFileException Corrupt(string name, Exception e)
        => new($"{name} is not a JPEG, PNG, BMP, GIF or WebP image, or is corrupt: {e.Message.TrimEnd('.')}.", e);

    static ImageFileException CompressedChunkTooLarge(string name, string chunk)
        => new($"{name} has a PNG {chunk} chunk that decompresses to more than 1 MB: a decompression bomb, which Pillow refuses too. Re-save the image without its metadata.");

    static RgbImage DecodeWithImageSharp(string path, Stream stream, bool applyExifOrientation)
    {
        try
        {
            var info = Image.Identify(Formats, stream, out var format)
                ?? throw NotAnImage(path);
            if (Truncated(stream, format))
                throw new ImageFileException($"{path} is truncated: its {format.Name} data ends early. Copy or download it again.");
            if ((long)info.Width * info.Height > MaxImagePixels)
                throw TooLarge(path, info.Width, info.Height);
            stream.Position = 0;
            using var image = Image.Load<Rgb24>(Formats, stream);
            if (applyExifOrientation)
                image.Mutate(x => x.AutoOrient());
            var pixels = new byte[(long)image.Width * image.Height * 3];
            image.CopyPixelDataTo(pixels);
            return new RgbImage(image.Width, image.Height, pixels);
        }
        catch (Exception e) when (e is not (ImageFileException or IOException or UnauthorizedAccessException or OutOfMemoryException))
        {
            // ImageSharp's decoders meet corrupt data with more than their own exceptions (InvalidOperationException,
            // IndexOutOfRangeException, found by the fuzz tests): whatever a decoder throws on a file is the file's fault.
            throw Corrupt(path, e);
        }
    }

    /// <summary>The last <paramref name="count"/> bytes of the stream (all of it if shorter).</summary>
    internal static byte[] Tail(Stream stream, int count)
    {
        var bytes = new byte[(int)Math.Min(count, stream.Length)];
        stream.Position = stream.Length - bytes.Length;
        stream.ReadExactly(bytes);
        return bytes;
    }

    internal static ImageFileException TooLarge(string path, int width, int height)
        => new($"{path} is {width}x{height} pixels, more than the {MaxImagePixels:N0} this program decodes (PIL's limit too). Downscale it first.");

    /// <summary>
    /// Whether the file stops before its format's end marker. ImageSharp decodes a cut-off file without complaint,
    /// filling the missing rows; PIL refuses it ("image file is truncated"), and so do we.
    /// </summary>
    static bool Truncated(Stream stream, SixLabors.ImageSharp.Formats.IImageFormat format)
    {
        var length = stream.Length;
        byte[] Tail(int count) => ImageFile.Tail(stream, count);
        byte[] Head(int count)
        {
            var bytes = new byte[(int)Math.Min(count, length)];
            stream.Position = 0;
            stream.ReadExactly(bytes);
            return bytes;
        }
        return format switch
        {
            PngFormat => !Tail(12).AsSpan().SequenceEqual((ReadOnlySpan<byte>)[0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]),
            GifFormat => Tail(1)[0] != 0x3b,
            BmpFormat => BitConverter.ToUInt32(Head(6), 2) > length,
            WebpFormat => BitConverter.ToUInt32(Head(8), 4) + 8L > length,
            _ => false,
        };
    }
}

/// <summary>An image file that cannot be decoded; the message names the file and why.</summary>
public sealed class ImageFileException(string message, Exception? inner = null) : IOException(message, inner);
