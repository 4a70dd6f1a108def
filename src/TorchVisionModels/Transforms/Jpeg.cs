using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SkiaSharp;

namespace TorchVisionModels.Transforms;

/// <summary>
/// JPEG through SkiaSharp's libjpeg-turbo, the library Pillow decodes JPEG with: the same integer IDCT and "fancy"
/// chroma upsampling, and the same CMYK conversion, so a photo decodes to Pillow's pixels bit for bit.
/// </summary>
static class Jpeg
{
    /// <summary>Whether the stream starts with JPEG's start-of-image marker; leaves the stream at its start.</summary>
    public static bool Is(Stream stream)
    {
        Span<byte> head = stackalloc byte[3];
        var read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        return read == 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff;
    }

    /// <summary>Decodes to RGB: no colour management (Pillow applies no ICC profile), EXIF orientation only if asked.</summary>
    public static RgbImage Decode(string path, Stream stream, bool applyExifOrientation)
    {
        if (Truncated(stream))
            throw new ImageFileException($"{path} is truncated: its JPEG data ends early. Copy or download it again.");
        using var codec = Open(path, stream);
        var (width, height) = (codec.Info.Width, codec.Info.Height);

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var decoded = codec.GetPixels(info, bitmap.GetPixels());
        if (decoded != SKCodecResult.Success)
            throw new ImageFileException($"{path} is a corrupt JPEG image: libjpeg-turbo cannot decode its data ({decoded}). Copy or download it again.");
        // Every byte is written below: no need to zero it first.
        var rgb = GC.AllocateUninitializedArray<byte>(checked(width * height * 3));
        DropAlpha(bitmap.GetPixelSpan(), rgb);
        var image = new RgbImage(width, height, rgb);
        return applyExifOrientation ? Oriented(image, codec.EncodedOrigin) : image;
    }

    /// <summary>The image's width and height, from its header, with the checks <see cref="Decode"/> makes before decoding.</summary>
    public static (int Width, int Height) Identify(string path, Stream stream)
    {
        try
        {
            using var codec = Open(path, stream);
            return (codec.Info.Width, codec.Info.Height);
        }
        finally
        {
            stream.Position = 0;
        }
    }

    /// <summary>libjpeg-turbo's decoder for the image, its header read and its size within PIL's limit.</summary>
    static SKCodec Open(string path, Stream stream)
    {
        // A file is read by libjpeg-turbo itself: through a managed stream, a photo decoded up to 30% slower.
        stream.Position = 0;
        // The codec owns the SKStream it reads, not the caller's stream, which Decode reads again after Identify.
        var codec = stream is FileStream file ? SKCodec.Create(file.Name, out var opened)
            : SKCodec.Create(new SKManagedStream(stream, disposeManagedStream: false), out opened);
        if (codec is null)
            throw new ImageFileException($"{path} is a corrupt JPEG image: libjpeg-turbo cannot read its header ({opened}). Copy or download it again.");
        if ((long)codec.Info.Width * codec.Info.Height > ImageFile.MaxImagePixels)
        {
            var (width, height) = (codec.Info.Width, codec.Info.Height);
            codec.Dispose();
            throw ImageFile.TooLarge(path, width, height);
        }
        return codec;
    }

    /// <summary>
    /// RGBA to RGB, four pixels at a time with one byte shuffle (a scalar loop took 2.7 ms of a 1024x768 photo's 9 ms
    /// decode; this takes 0.1 ms).
    /// </summary>
    static void DropAlpha(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        var keep = Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 255, 255, 255, 255);
        ref var source = ref MemoryMarshal.GetReference(rgba);
        ref var target = ref MemoryMarshal.GetReference(rgb);
        nuint i = 0, j = 0, end = (nuint)rgb.Length;
        // Each step stores 16 bytes, its 12 and 4 that the next step overwrites, so it stops while 16 still fit.
        for (; j + 16 <= end; i += 16, j += 12)
            Vector128.Shuffle(Vector128.LoadUnsafe(ref source, i), keep).StoreUnsafe(ref target, j);
        for (; j < end; i += 4, j += 3)
        {
            rgb[(int)j] = rgba[(int)i];
            rgb[(int)j + 1] = rgba[(int)i + 1];
            rgb[(int)j + 2] = rgba[(int)i + 2];
        }
    }

    /// <summary>
    /// Whether the file stops before its end-of-image marker (looked for near the end: JPEG may carry trailing data).
    /// libjpeg-turbo fills the missing rows of a cut-off file; Pillow refuses it ("image file is truncated"), and so do we.
    /// </summary>
    static bool Truncated(Stream stream)
        => ImageFile.Tail(stream, 64 * 1024).AsSpan().IndexOf((ReadOnlySpan<byte>)[0xff, 0xd9]) < 0;

    /// <summary>The image as Pillow's <c>ImageOps.exif_transpose</c> turns it for an EXIF orientation (1 to 8).</summary>
    static RgbImage Oriented(RgbImage image, SKEncodedOrigin origin)
    {
        if (origin == SKEncodedOrigin.TopLeft)
            return image;
        var (w, h) = (image.Width, image.Height);
        var swapped = origin >= SKEncodedOrigin.LeftTop;
        var (width, height) = swapped ? (h, w) : (w, h);
        var pixels = new byte[image.Pixels.Length];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),          // mirrored
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y), // rotated 180
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),        // flipped
                    SKEncodedOrigin.LeftTop => (y, x),                   // transposed
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),          // rotated 90 clockwise to show
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x), // transversed
                    _ => (w - 1 - y, x),                                 // LeftBottom: rotated 90 counter-clockwise
                };
                Buffer.BlockCopy(image.Pixels, (sy * w + sx) * 3, pixels, (y * width + x) * 3, 3);
            }
        return new RgbImage(width, height, pixels);
    }
}
