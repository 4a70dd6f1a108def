using System.Globalization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchVisionModels.Transforms;

namespace TorchVisionModels.Classification;

/// <summary>
/// Classification results as one self-contained HTML page (<see cref="HtmlPage"/>: it loads nothing), as the classic
/// script shows them: each image as a small thumbnail beside its top-k as bars, and each file that failed with why. Rows
/// are written as results arrive: memory stays flat whatever the count. Past <see cref="MaxShown"/> images (and as
/// many errors) the rest are counted, and the page says how many it shows. Written under a temporary name and
/// renamed when disposed, so no reader ever sees a page half-written.
/// </summary>
public sealed class ClassificationReport : IDisposable
{
    /// <summary>The most images (and, apart, errors) a page shows; a million-image run's page stays a few tens of MB.</summary>
    public const int MaxShown = 1000;

    /// <summary>A thumbnail's longer side, in pixels.</summary>
    public const int ThumbnailSize = 128;

    readonly string path;
    readonly string partial;
    readonly StreamWriter writer;
    int images, errors, shownImages, shownErrors;

    ClassificationReport(string path, string title)
    {
        this.path = path;
        partial = path + ".partial";
        writer = new StreamWriter(partial);
        writer.Write(HtmlPage.Start(title, $$"""
            .results { display: flex; flex-wrap: wrap; gap: 1em; }
            figure { margin: 0; width: 300px; border: 1px solid #ddd; border-radius: 6px; padding: 8px; }
            figure img { display: block; max-width: {{ThumbnailSize}}px; max-height: {{ThumbnailSize}}px; margin: 0 auto 6px; }
            figcaption { font-weight: 600; overflow-wrap: anywhere; margin-bottom: 4px; }
            ol { list-style: none; margin: 0; padding: 0; }
            li { position: relative; margin: 2px 0; padding: 1px 4px; display: flex; justify-content: space-between; }
            .bar { position: absolute; left: 0; top: 0; bottom: 0; background: #cfe3ff; z-index: -1; border-radius: 3px; }
            .error { color: #a00; overflow-wrap: anywhere; }
            """));
        writer.Write("<div class=\"results\">\n");
    }

    /// <summary>Starts the page at <paramref name="path"/>; <paramref name="title"/> says what ran (the model and its weights).</summary>
    public static ClassificationReport Create(string path, string title) => new(path, title);

    /// <summary>Adds <paramref name="result"/>: its image and top-k, or its error.</summary>
    public void Add(ClassificationResult result)
    {
        if (result.Error is not null)
        {
            errors++;
            if (shownErrors++ < MaxShown)
                writer.Write($"<figure class=\"failed\"><figcaption>{Html(result.File)}</figcaption><p class=\"error\">{Html(result.Error)}</p></figure>\n");
            return;
        }
        images++;
        if (shownImages++ >= MaxShown)
            return;
        // A file gone since it was classified keeps its row, without a picture.
        var thumbnail = Thumbnail(result.File);
        var image = thumbnail is null ? "" : $"<img src=\"data:image/jpeg;base64,{thumbnail}\" alt=\"{Html(result.File)}\">";
        writer.Write($"<figure class=\"image\">{image}<figcaption>{Html(result.File)}</figcaption><ol>");
        foreach (var p in result.Top!)
        {
            var percent = (p.Probability * 100).ToString("F1", CultureInfo.InvariantCulture);
            writer.Write($"<li><span class=\"bar\" style=\"width: {percent}%\"></span><span class=\"label\">{Html(p.Label)}</span><span class=\"probability\">{percent}%</span></li>");
        }
        writer.Write("</ol></figure>\n");
    }

    /// <summary>The image, its longer side <see cref="ThumbnailSize"/>, as base64 JPEG, decoded again as classify decoded it; null if it no longer reads.</summary>
    static string? Thumbnail(string file)
    {
        RgbImage rgb;
        try
        {
            rgb = ImageFile.Load(file);
        }
        catch (ImageFileException)
        {
            return null;
        }
        using var image = Image.LoadPixelData<Rgb24>(rgb.Pixels, rgb.Width, rgb.Height);
        image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(ThumbnailSize, ThumbnailSize), Mode = ResizeMode.Max }));
        using var jpeg = new MemoryStream();
        image.SaveAsJpeg(jpeg, new JpegEncoder { Quality = 80 });
        return Convert.ToBase64String(jpeg.GetBuffer(), 0, (int)jpeg.Length);
    }

    static string Html(string text) => HtmlPage.Encode(text);

    /// <summary>Ends the page with what it holds and moves it into place.</summary>
    public void Dispose()
    {
        var shown = images > MaxShown || errors > MaxShown
            ? $"; the first {Math.Min(images, MaxShown)} images and {Math.Min(errors, MaxShown)} errors are shown"
            : "";
        writer.Write($"</div>\n<p id=\"summary\">{images} images classified, {errors} failed{shown}.</p>\n{HtmlPage.End}");
        writer.Dispose();
        File.Move(partial, path, overwrite: true);
    }
}
