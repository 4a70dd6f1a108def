using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Inference.Tests.Cli;

/// <summary>
/// The HTML reports, rendered by a real browser (Debian's chromium, headless): <c>classify --report</c> shows each
/// image, its top-5 and the errors; <c>evaluate --report</c> each class's accuracy and the confusion matrix;
/// <c>finetune</c>'s <c>report.html</c> the curves of its epochs; none loads anything.
/// </summary>
public sealed partial class ReportTests : IDisposable
{
    static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");
    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("classify-report-");

    public void Dispose() => directory.Delete(recursive: true);

    [Fact]
    public void TheBrowserShowsEachImageWithItsTop5AndEachError()
    {
        var page = Path.Combine(directory.FullName, "report.html");
        var missing = Path.Combine(directory.FullName, "missing.jpg");
        var (exitCode, output, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--json", "--report", page, Fixtures.Samples, missing);
        Assert.True(exitCode == 1, error);

        var dom = Render(page);
        var results = JsonDocument.Parse(output).RootElement.GetProperty("results").EnumerateArray().Where(r => r.TryGetProperty("top", out _)).ToList();
        var figures = Figure().Matches(dom).Select(m => m.Value).ToList();
        Assert.Equal(results.Count + 1, figures.Count);
        foreach (var (result, figure) in results.Zip(figures))
        {
            Assert.Contains($"<figcaption>{result.GetProperty("file").GetString()}</figcaption>", figure);
            Assert.Matches("<img src=\"data:image/jpeg;base64,[A-Za-z0-9+/=]{100,}\"", figure);
            Assert.Equal(result.GetProperty("top").EnumerateArray().Select(t => System.Net.WebUtility.HtmlEncode(t.GetProperty("label").GetString()!)),
                Label().Matches(figure).Select(m => m.Groups[1].Value));
        }
        Assert.Contains($"<figcaption>{missing}</figcaption><p class=\"error\">{missing} does not exist.</p>", figures[^1]);
        Assert.Contains("<p id=\"summary\">3 images classified, 1 failed.</p>", dom);
    }

    [Fact]
    public void ThePageLoadsNothingFromTheNetwork()
    {
        var page = Path.Combine(directory.FullName, "report.html");
        Assert.Equal(0, CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--report", page, Fixtures.Samples).exitCode);
        var dom = Render(page);
        // Every source is inline; the policy forbids the browser any other.
        Assert.Contains("default-src 'none'; img-src data:; style-src 'unsafe-inline'", dom);
        Assert.All(Source().Matches(dom), m => Assert.StartsWith("data:", m.Groups[1].Value));
        Assert.DoesNotContain("http://", dom);
        Assert.DoesNotContain("https://", dom);
    }

    [Fact]
    public void EvaluateAndFinetuneReportsShowTheirNumbers()
    {
        var data = Path.Combine(Fixtures.Directory, "fashion-mnist-small");
        var run = Path.Combine(directory.FullName, "run");
        var (exitCode, _, error) = CliRunner.Run("finetune", "--data", $"{data}/train", "--val", $"{data}/test", "--epochs", "2", "--out", run, "--model", "resnet18",
            "--batch-size", "50", "--lr", "0.02", "--crop-size", "32", "--resize-size", "32");
        Assert.True(exitCode == 0, error);
        var training = Render(Path.Combine(run, "report.html"));
        Assert.Equal(3, Regex.Count(training, "<svg class=\"chart\""));
        Assert.Equal(5, Regex.Count(training, "<polyline class=\"series\""));
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        foreach (var epoch in metrics)
            Assert.Contains($"<td>{epoch.GetProperty("val_top1").GetDouble():F2}</td>", training);

        var page = Path.Combine(directory.FullName, "evaluation.html");
        string output;
        (exitCode, output, error) = CliRunner.Run("evaluate", "--weights", Path.Combine(run, "best.pt"), "--data", $"{data}/test", "--backend", "torch", "--fast", "false",
            "--json", "--report", page);
        Assert.True(exitCode == 0, error);
        var evaluation = JsonDocument.Parse(output).RootElement;
        var dom = Render(page);
        Assert.Contains($"top-1 {evaluation.GetProperty("top1").GetDouble():F2}%", dom);
        // The rows under the header: each a class's name, then its counts.
        var rows = Regex.Matches(Regex.Match(dom, "<table id=\"confusion\">.*?</table>", RegexOptions.Singleline).Value, "<tr><th>([^<]+)</th>(.*?)</tr>", RegexOptions.Singleline);
        var classes = evaluation.GetProperty("classes").EnumerateArray().ToList();
        Assert.Equal(classes.Select(c => c.GetProperty("name").GetString()), rows.Select(r => r.Groups[1].Value));
        for (var i = 0; i < classes.Count; i++)
        {
            var cells = Regex.Matches(rows[i].Groups[2].Value, ">([0-9]+)</td>").Select(m => long.Parse(m.Groups[1].Value)).ToList();
            // Each row holds the class's images; its diagonal, the ones classified right.
            Assert.Equal(classes[i].GetProperty("images").GetInt64(), cells.Sum());
            Assert.Equal(classes[i].GetProperty("top1").GetDouble() * classes[i].GetProperty("images").GetInt64() / 100, cells[i], 6);
        }
        Assert.DoesNotContain("://", dom);
    }

    /// <summary>The page's DOM after chromium has loaded and laid it out.</summary>
    static string Render(string page)
    {
        var start = new ProcessStartInfo("chromium") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--dump-dom", new Uri(page).AbsoluteUri])
            start.ArgumentList.Add(argument);
        using var browser = Process.Start(start)!;
        var dom = browser.StandardOutput.ReadToEndAsync();
        var log = browser.StandardError.ReadToEndAsync();
        if (!browser.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            browser.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not render the page within 2 minutes");
        }
        Assert.True(browser.ExitCode == 0, log.Result);
        Assert.StartsWith("<!DOCTYPE html>", dom.Result.TrimStart());
        return dom.Result;
    }

    [GeneratedRegex("<figure class=\"(image|failed)\">.*?</figure>", RegexOptions.Singleline)]
    private static partial Regex Figure();

    [GeneratedRegex("<span class=\"label\">(.*?)</span>")]
    private static partial Regex Label();

    [GeneratedRegex("src=\"([^\"]*)\"")]
    private static partial Regex Source();
}
