using System.CommandLine;
using System.Text.Json;
using Inference.Commands;

namespace TorchVisionModels.Tests.Cli;

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

    public void Dispose() => directory.Delete(recursive: true);
}
