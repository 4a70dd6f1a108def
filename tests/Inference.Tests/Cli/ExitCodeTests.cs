using System.CommandLine;
using System.Text.Json;
using Inference.Commands;

namespace Inference.Tests.Cli;

/// <summary>Exit codes say what went wrong: 0 done, 1 some images failed, 2 a bad command line or input, 3 a bug, each with one line and no stack trace.</summary>
public sealed class ExitCodeTests : IDisposable
{
    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("exit-codes-");

    [Theory]
    [InlineData("classify")]
    [InlineData("classify", "--topk", "0", "cat.png")]
    [InlineData("bogus")]
    public void ABadCommandLineIsABadInput(params string[] args) => Assert.Equal(ExitCodes.BadInput, CliRunner.Run(args).exitCode);

    [Fact]
    public void ABugIsAnInternalErrorInOneLine()
    {
        var error = new StringWriter();
        var parsed = new RootCommand().Parse([]);
        parsed.InvocationConfiguration.Error = error;

        var exitCode = ExitCodes.Report(parsed, () => throw new InvalidOperationException("Sequence contains no elements."));

        Assert.Equal(ExitCodes.InternalError, exitCode);
        Assert.Equal("internal error: InvalidOperationException: Sequence contains no elements. This is a bug; please report it with the command you ran." + Environment.NewLine, error.ToString());
    }

    [Fact]
    public void AFolderWithoutImagesIsABadInputNamedBeforeTheModelLoads()
    {
        File.WriteAllText(Path.Combine(directory.FullName, "notes.txt"), "no images here");
        var (exitCode, output, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", "/nonexistent/weights.pt", directory.FullName);
        Assert.Equal(ExitCodes.BadInput, exitCode);
        Assert.Equal("", output);
        Assert.Equal($"error: {directory.FullName} holds no images (.bmp, .gif, .jpeg, .jpg, .png, .webp, in it or its subfolders): give image files or a folder of them.",
            error.Trim());
    }

    /// <summary>A folder with links to its parent and to itself: each image once, each link named, and the run ends.</summary>
    [Fact]
    public void FolderLoopsAreWalkedOnceAndNamed()
    {
        var photos = Directory.CreateDirectory(Path.Combine(directory.FullName, "photos"));
        File.Copy(Path.Combine(Fixtures.Samples, "cat.png"), Path.Combine(photos.FullName, "cat.png"));
        var up = Directory.CreateSymbolicLink(Path.Combine(photos.FullName, "up"), "..").FullName;
        var self = Directory.CreateSymbolicLink(Path.Combine(directory.FullName, "self"), ".").FullName;

        var (exitCode, output, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Fixtures.PathOf("forward_resnet18.weights.pt"),
            "--json", directory.FullName);

        Assert.Equal(ExitCodes.Success, exitCode);
        var files = JsonDocument.Parse(output).RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("file").GetString());
        Assert.Equal([Path.Combine(photos.FullName, "cat.png")], files);
        Assert.Equal([$"warning: skipped {up}: a link to a folder already walked", $"warning: skipped {self}: a link to a folder already walked"],
            error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    /// <summary>Good photos among every kind of bad file: the photos are classified, each bad file is named, and the run says some failed.</summary>
    [Fact]
    public void AFolderOfHostileFilesClassifiesTheGoodOnesAndNamesTheRest()
    {
        var good = new[] { Path.Combine(Fixtures.Samples, "cat.png"), Path.Combine(Fixtures.Samples, "rocket.jpg"),
            Fixtures.PathOf("hostile/strip_100000x1.png"), Fixtures.PathOf("hostile/strip_1x100000.png") };
        var bad = new[] { Fixtures.PathOf("hostile/ztxt_bomb.png"), Fixtures.PathOf("hostile/iccp_bomb.png"), Fixtures.PathOf("images/huge.png"),
            Fixtures.PathOf("images/truncated.jpg"), Fixtures.PathOf("images/rocket_truncated.jpg"), Fixtures.PathOf("images/corrupt.jpg"),
            Fixtures.PathOf("images/chelsea_truncated.png") };
        foreach (var file in good.Concat(bad))
            File.Copy(file, Path.Combine(directory.FullName, Path.GetFileName(file)));
        File.Copy(Fixtures.PathOf("serialization/random.bin"), Path.Combine(directory.FullName, "random.png"));
        Directory.CreateSymbolicLink(Path.Combine(directory.FullName, "again"), ".");

        var (exitCode, output, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Fixtures.PathOf("forward_resnet18.weights.pt"),
            "--json", directory.FullName);

        Assert.Equal(ExitCodes.SomeInputsFailed, exitCode);
        var results = JsonDocument.Parse(output).RootElement.GetProperty("results").EnumerateArray()
            .ToDictionary(r => Path.GetFileName(r.GetProperty("file").GetString()!), r => r);
        Assert.Equal(good.Length + bad.Length + 1, results.Count);
        Assert.All(good, file => Assert.Equal(5, results[Path.GetFileName(file)].GetProperty("top").GetArrayLength()));
        Assert.All(bad.Append("random.png"), file => Assert.StartsWith(Path.Combine(directory.FullName, Path.GetFileName(file)),
            results[Path.GetFileName(file)].GetProperty("error").GetString()));
        Assert.Equal($"warning: skipped {Path.Combine(directory.FullName, "again")}: a link to a folder already walked", error.Trim());
    }

    public void Dispose() => directory.Delete(recursive: true);
}
