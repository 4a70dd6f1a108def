using System.Diagnostics;
using TorchVisionModels.Datasets;

namespace Inference.Tests.Cli;

/// <summary>
/// <c>classify --output</c>: JSON Lines written as images finish, resumed after a kill with the uninterrupted run's
/// lines, none twice and none missing; shards that cover the input once; a file of another run left alone.
/// </summary>
public class ClassifyOutputTests : IDisposable
{
    static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");
    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("classify-output-");

    string PathOf(string name) => Path.Combine(directory.FullName, name);

    /// <summary>A folder of <paramref name="count"/> images: the samples, copied under other names.</summary>
    string Images(int count)
    {
        var folder = Directory.CreateDirectory(PathOf("images")).FullName;
        var samples = Directory.GetFiles(Fixtures.Samples).Where(f => f.EndsWith(".png") || f.EndsWith(".jpg")).Order(StringComparer.Ordinal).ToArray();
        for (var i = 0; i < count; i++)
            File.Copy(samples[i % samples.Length], Path.Combine(folder, $"{i:D3}{Path.GetExtension(samples[i % samples.Length])}"));
        return folder;
    }

    static string[] Classify(string output, params string[] more)
    {
        var (exitCode, _, error) = CliRunner.Run(["classify", "--model", "resnet18", "--weights", Weights, "--batch-size", "1", "--output", output, .. more]);
        Assert.True(exitCode == 0, error);
        return File.ReadAllLines(output);
    }

    [Fact]
    public void AKilledRunResumesToTheUninterruptedRunsLines()
    {
        var images = Images(24);
        var uninterrupted = Classify(PathOf("whole.jsonl"), images);

        var resumed = PathOf("resumed.jsonl");
        using (var child = ChildProcess.Start(ClassifyInThisProcess, new Dictionary<string, string>(), resumed, images))
        {
            _ = child.StandardOutput.ReadToEndAsync();
            _ = child.StandardError.ReadToEndAsync();
            var waited = Stopwatch.StartNew();
            // Killed (SIGKILL) once a few images are recorded, mid-run.
            while (!child.HasExited && (!File.Exists(resumed) || File.ReadAllLines(resumed).Length < 4) && waited.Elapsed < TimeSpan.FromMinutes(2))
                Thread.Sleep(20);
            Assert.False(child.HasExited, "the run finished before it could be killed");
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        var beforeResuming = File.ReadAllLines(resumed).Length;
        Assert.InRange(beforeResuming, 4, uninterrupted.Length - 1);

        var lines = Classify(resumed, images);

        Assert.Equal(uninterrupted[0], lines[0]);
        Assert.Equal(uninterrupted.Skip(1).Order(StringComparer.Ordinal), lines.Skip(1).Order(StringComparer.Ordinal));
    }

    static void ClassifyInThisProcess(string[] arguments) => Classify(arguments[0], arguments[1]);

    [Fact]
    public void ATornLastLineIsDoneAgain()
    {
        var images = Images(3);
        var whole = Classify(PathOf("results.jsonl"), images);
        var bytes = File.ReadAllBytes(PathOf("results.jsonl"));
        File.WriteAllBytes(PathOf("results.jsonl"), bytes[..^30]);

        var (exitCode, output, _) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--batch-size", "1", "--output", PathOf("results.jsonl"), images);

        Assert.Equal(0, exitCode);
        Assert.Equal($"1 images classified into {PathOf("results.jsonl")} (2 recorded there before, 0 failed)", output.Trim());
        Assert.Equal(whole, File.ReadAllLines(PathOf("results.jsonl")));
    }

    [Fact]
    public void ShardsCoverTheInputOnce()
    {
        var images = Images(12);
        var parts = Enumerable.Range(0, 2)
            .Select(k => Classify(PathOf($"part{k}.jsonl"), images, "--shard", $"{k}/2").Skip(1).Select(FileOf).ToList())
            .ToList();

        Assert.Empty(parts[0].Intersect(parts[1]));
        Assert.Equal(Directory.GetFiles(images).Order(StringComparer.Ordinal), parts[0].Concat(parts[1]).Order(StringComparer.Ordinal));
        Assert.All(parts, p => Assert.NotEmpty(p));
    }

    [Fact]
    public void AShardDependsOnThePathBelowItsFolderOnly()
    {
        // The same relative paths under two roots fall in the same shards, and every path in exactly one of N.
        var paths = Enumerable.Range(0, 1000).Select(i => $"class{i % 7}/image{i:D4}.jpg").ToList();
        foreach (var count in new[] { 1, 2, 3, 5 })
            Assert.All(paths, p => Assert.Equal(1, Enumerable.Range(0, count).Count(k => new Shard(k, count).Contains(p))));
        var images = Images(6);
        var copy = Directory.CreateDirectory(PathOf("copy")).FullName;
        foreach (var file in Directory.GetFiles(images))
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var first = Classify(PathOf("a.jsonl"), images, "--shard", "1/3").Skip(1).Select(l => Path.GetFileName(FileOf(l)));
        var second = Classify(PathOf("b.jsonl"), copy, "--shard", "1/3").Skip(1).Select(l => Path.GetFileName(FileOf(l)));
        Assert.Equal(first, second);
    }

    [Fact]
    public void AFileOfAnotherRunIsLeftAlone()
    {
        var images = Images(2);
        Classify(PathOf("results.jsonl"), images);
        var before = File.ReadAllBytes(PathOf("results.jsonl"));

        var (exitCode, _, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--topk", "3", "--output", PathOf("results.jsonl"), images);

        Assert.Equal(2, exitCode);
        Assert.Equal($"error: --output {PathOf("results.jsonl")}: holds the results of another run (topk 5, not 3); give another file, or delete it to start again.", error.Trim());
        Assert.Equal(before, File.ReadAllBytes(PathOf("results.jsonl")));
    }

    [Fact]
    public void AListedFileThatIsMissingIsRecordedAndTheRunGoesOn()
    {
        var images = Images(2);
        File.WriteAllLines(PathOf("list.txt"), [.. Directory.GetFiles(images).Order(StringComparer.Ordinal), PathOf("missing.png")]);

        var (exitCode, _, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--files-from", PathOf("list.txt"), "--output", PathOf("results.jsonl"));

        Assert.True(exitCode == 1, error);
        var lines = File.ReadAllLines(PathOf("results.jsonl"));
        Assert.Equal(4, lines.Length);
        Assert.Equal($"{{\"file\":\"{PathOf("missing.png")}\",\"error\":\"{PathOf("missing.png")} does not exist.\"}}", lines[3]);
    }

    [Fact]
    public void AnIndexedJobsPodTakesItsPartFromJobCompletionIndex()
    {
        var images = Images(6);
        var expected = Classify(PathOf("shard.jsonl"), images, "--shard", "1/3").Skip(1);
        ChildProcess.Run(ClassifyAsPod, new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "1" }, PathOf("pod.jsonl"), images);
        Assert.Equal(expected, File.ReadAllLines(PathOf("pod.jsonl")).Skip(1));
    }

    static void ClassifyAsPod(string[] arguments) => Classify(arguments[0], arguments[1], "--shards", "3");

    [Fact]
    public void WithoutJobCompletionIndexShardsIsRefused()
        => ChildProcess.Run(ShardsWithoutIndex, new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "" });

    static void ShardsWithoutIndex(string[] _)
    {
        Environment.SetEnvironmentVariable("JOB_COMPLETION_INDEX", null);
        var (exitCode, _, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--shards", "3", Fixtures.Samples);
        Assert.Equal(2, exitCode);
        Assert.Equal("error: --shards 3: JOB_COMPLETION_INDEX is not set: run as a Kubernetes Indexed Job, or give one part as K/N.", error.Trim());
    }

    [Fact]
    public void MergeWritesEachImageOnceAndNamesAGapAndADuplicate()
    {
        var images = Images(9);
        var whole = Classify(PathOf("whole.jsonl"), images);
        var parts = Enumerable.Range(0, 3).Select(k => PathOf($"part{k}.jsonl")).ToArray();
        for (var k = 0; k < 3; k++)
            Classify(parts[k], images, "--shard", $"{k}/3");

        var (exitCode, output, error) = CliRunner.Run(["merge", .. parts, "--out", PathOf("merged.jsonl"), "--csv", PathOf("merged.csv"), "--inputs", images]);
        Assert.True(exitCode == 0, error);
        Assert.Equal($"9 images from 3 shards merged into {PathOf("merged.jsonl")}", output.Trim());
        var merged = File.ReadAllLines(PathOf("merged.jsonl"));
        Assert.Equal(whole[0], merged[0]);
        Assert.Equal(whole.Skip(1).Order(StringComparer.Ordinal), merged.Skip(1).Order(StringComparer.Ordinal));
        var table = File.ReadAllLines(PathOf("merged.csv"));
        Assert.Equal("file,rank,label,index,probability,error", table[0]);
        Assert.Equal(1 + 9 * 5, table.Length);

        // A shard that lost its last image, and one image recorded by two shards.
        var lines = File.ReadAllLines(parts[0]).ToList();
        var lost = FileOf(lines[^1]);
        File.WriteAllLines(parts[0], lines[..^1]);
        var twice = File.ReadAllLines(parts[1])[1];
        File.AppendAllLines(parts[2], [twice]);
        (exitCode, _, error) = CliRunner.Run(["merge", .. parts, "--out", PathOf("merged.jsonl"), "--inputs", images]);
        Assert.Equal(1, exitCode);
        Assert.Equal([$"error: 1 inputs have no result: {lost}", $"error: 1 inputs were classified more than once (kept once): {FileOf(twice)}"],
            error.Trim().Split(Environment.NewLine));
    }

    [Fact]
    public void MergeRefusesShardsOfAnotherRun()
    {
        var images = Images(2);
        Classify(PathOf("a.jsonl"), images);
        Classify(PathOf("b.jsonl"), images, "--topk", "3");
        var (exitCode, _, error) = CliRunner.Run("merge", PathOf("a.jsonl"), PathOf("b.jsonl"), "--out", PathOf("merged.jsonl"));
        Assert.Equal(2, exitCode);
        Assert.Equal($"error: --output {PathOf("b.jsonl")}: comes from another run than {PathOf("a.jsonl")}: merge the shards of one run.", error.Trim());
        Assert.False(File.Exists(PathOf("merged.jsonl")));
    }

    [Theory]
    [InlineData("3/2")]
    [InlineData("1")]
    [InlineData("-1/2")]
    public void AShardSpecThatIsNotKOfNIsRefused(string spec)
    {
        var (exitCode, _, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--shard", spec, Fixtures.Samples);
        Assert.Equal(2, exitCode);
        Assert.Equal($"error: --shard {spec}: must be K/N with N at least 1 and K from 0 to N-1.", error.Trim());
    }

    static string FileOf(string line) => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("file").GetString()!;

    public void Dispose() => directory.Delete(recursive: true);
}
