using System.Net;

namespace TorchVisionModels;

/// <summary>
/// What every HTML report shares: a page that opens anywhere, offline, and loads nothing. Its only sources are inline
/// (images as data: URIs, styles in the page, charts as inline SVG), and a Content-Security-Policy forbids the
/// browser any other.
/// </summary>
static class HtmlPage
{
    /// <summary>The policy every report carries.</summary>
    public const string ContentSecurityPolicy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

    /// <summary>The page up to its body's first element: the title as a heading, the shared style and <paramref name="style"/>.</summary>
    public static string Start(string title, string style) => $$"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="{{ContentSecurityPolicy}}">
        <title>{{Encode(title)}}</title>
        <style>
        body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
        table { border-collapse: collapse; }
        td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
        th { background: #f4f4f4; }
        {{style}}
        </style>
        </head>
        <body>
        <h1>{{Encode(title)}}</h1>

        """;

    /// <summary>The page's end.</summary>
    public const string End = "</body>\n</html>\n";

    /// <summary><paramref name="text"/> safe in HTML text and attribute values.</summary>
    public static string Encode(string text) => WebUtility.HtmlEncode(text);

    /// <summary>Writes a page with <paramref name="write"/> under a temporary name, then renames it into place: no reader sees half a page.</summary>
    public static void Write(string path, Action<TextWriter> write)
    {
        var partial = path + ".partial";
        using (var writer = new StreamWriter(partial))
            write(writer);
        File.Move(partial, path, overwrite: true);
    }
}
