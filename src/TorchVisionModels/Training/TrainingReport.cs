using System.Globalization;
using System.Text;
using System.Text.Json;
using static System.FormattableString;

namespace TorchVisionModels.Training;

/// <summary>
/// A training run's <c>metrics.jsonl</c> as one self-contained HTML page (it loads nothing): loss, learning rate and
/// validation accuracy per epoch as line charts (inline SVG), and the numbers as a table. <see cref="Trainer"/>
/// writes it as <c>report.html</c> after every epoch.
/// </summary>
public static class TrainingReport
{
    const int Width = 480, Height = 200, Margin = 40;

    sealed record Series(string Name, string Color, double?[] Values);

    /// <summary>Writes the page for <paramref name="metricsFile"/> to <paramref name="path"/>, atomically.</summary>
    /// <param name="path">The .html file.</param>
    /// <param name="title">What was trained.</param>
    /// <param name="metricsFile">The run's metrics.jsonl: one JSON object per epoch, as <see cref="Trainer.Fit"/> writes it.</param>
    public static void Write(string path, string title, string metricsFile)
    {
        var epochs = File.ReadLines(metricsFile).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        double? Value(JsonElement epoch, string name) => epoch.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        double?[] Column(string name) => [.. epochs.Select(e => Value(e, name))];
        HtmlPage.Write(path, writer =>
        {
            writer.Write(HtmlPage.Start(title, "svg { margin: 0 1em 1em 0; border: 1px solid #ddd; } .charts { display: flex; flex-wrap: wrap; }"));
            writer.Write("<div class=\"charts\">\n");
            writer.Write(Chart("loss", [new("train", "#d0622a", Column("train_loss")), new("validation", "#2a6ec8", Column("val_loss"))]));
            writer.Write(Chart("learning rate", [new("lr", "#6a3fb0", Column("lr"))]));
            writer.Write(Chart("validation accuracy (%)", [new("top-1", "#2a6ec8", Column("val_top1")), new("top-5", "#2a9a5a", Column("val_top5")), new("top-1 (EMA)", "#c8962a", Column("val_top1_ema"))]));
            writer.Write("</div>\n<table id=\"epochs\"><tr><th>epoch</th><th>train loss</th><th>lr</th><th>val top-1</th><th>val top-5</th><th>val loss</th><th>seconds</th></tr>\n");
            foreach (var epoch in epochs)
            {
                string Cell(string name, string format) => Value(epoch, name)?.ToString(format, CultureInfo.InvariantCulture) ?? "";
                writer.Write($"<tr><td>{Cell("epoch", "F0")}</td><td>{Cell("train_loss", "F4")}</td><td>{Cell("lr", "G4")}</td><td>{Cell("val_top1", "F2")}</td>"
                    + $"<td>{Cell("val_top5", "F2")}</td><td>{Cell("val_loss", "F4")}</td><td>{Cell("seconds", "F1")}</td></tr>\n");
            }
            writer.Write("</table>\n" + HtmlPage.End);
        });
    }

    /// <summary>One chart: each series a line over the epochs, the y axis from the lowest value to the highest.</summary>
    static string Chart(string name, Series[] series)
    {
        var values = series.SelectMany(s => s.Values).OfType<double>().ToList();
        var svg = new StringBuilder(Invariant($"<svg class=\"chart\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{HtmlPage.Encode(name)}\">"));
        svg.Append(Invariant($"<text x=\"{Margin}\" y=\"16\" font-size=\"13\">{HtmlPage.Encode(name)}</text>"));
        if (values.Count > 0)
        {
            var (low, high) = (values.Min(), values.Max());
            var span = high > low ? high - low : 1;
            var epochs = series.Max(s => s.Values.Length);
            double X(int i) => Margin + (epochs == 1 ? 0.5 : (double)i / (epochs - 1)) * (Width - 2 * Margin);
            double Y(double v) => Height - Margin + -(v - low) / span * (Height - 2 * Margin);
            svg.Append(Invariant($"<text x=\"2\" y=\"{Y(high) + 4:F1}\" font-size=\"10\">{high:G4}</text><text x=\"2\" y=\"{Y(low) + 4:F1}\" font-size=\"10\">{low:G4}</text>"));
            svg.Append(Invariant($"<line x1=\"{Margin}\" y1=\"{Height - Margin}\" x2=\"{Width - Margin}\" y2=\"{Height - Margin}\" stroke=\"#999\"/>"));
            var legend = 0;
            foreach (var s in series.Where(s => s.Values.Any(v => v is not null)))
            {
                var points = string.Join(" ", s.Values.Select((v, i) => (v, i)).Where(p => p.v is not null).Select(p => Invariant($"{X(p.i):F1},{Y(p.v!.Value):F1}")));
                svg.Append(Invariant($"<polyline class=\"series\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\" points=\"{points}\"/>"));
                svg.Append(Invariant($"<text x=\"{Width - Margin - 90}\" y=\"{16 + 14 * legend++}\" font-size=\"11\" fill=\"{s.Color}\">{HtmlPage.Encode(s.Name)}</text>"));
            }
        }
        return svg.Append("</svg>\n").ToString();
    }
}
