using TorchVisionModels.Classification;

namespace Inference.Tests.Cli;

/// <summary>
/// A list of a million paths streams: the listing, the sharding and the merge's check hold no more memory than a list
/// of ten thousand.
/// </summary>
public sealed class ClassifyScaleTests : IDisposable
{
    static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");
    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("classify-scale-");

    public void Dispose() => directory.Delete(recursive: true);

    // Measured (AMD EPYC): 1,000,000 listed paths peaked 6 MB above 10,000 (444 MB against 438, the model included);
    // the list held in memory would cost about 110 MB. The merge: 69 MB against 51 MB, where naming every missing path
    // held about 100 MB more.
    const long AllowedGrowthMb = 40;

    [Fact]
    public void AMillionListedPathsKeepMemoryFlat()
    {
        var (smallList, largeList) = (List(10_000), List(1_000_000));
        var small = PeakRssMb(ClassifyList, smallList, OutputOf(smallList));
        var large = PeakRssMb(ClassifyList, largeList, OutputOf(largeList));
        Assert.True(large - small <= AllowedGrowthMb, $"classify: peak RSS {large} MB with 1,000,000 paths against {small} MB with 10,000");

        // The merge checks every listed path against the one shard that ran: 999,000 are missing, and named 20.
        small = PeakRssMb(MergeList, smallList, OutputOf(smallList));
        large = PeakRssMb(MergeList, largeList, OutputOf(largeList));
        Assert.True(large - small <= AllowedGrowthMb, $"merge: peak RSS {large} MB with 1,000,000 paths against {small} MB with 10,000");
    }

    string OutputOf(string list) => Path.Combine(directory.FullName, Path.GetFileNameWithoutExtension(list) + ".jsonl");

    string List(int count)
    {
        // Files that do not exist: what is measured is the listing and the sharding (one path in a thousand is classified, as a missing file).
        var list = Path.Combine(directory.FullName, $"list-{count}.txt");
        using (var writer = new StreamWriter(list))
        {
            for (var i = 0; i < count; i++)
                writer.WriteLine($"/nonexistent/archive/{i % 997:D3}/photo_{i:D7}.jpg");
        }
        return list;
    }

    static long PeakRssMb(Action<string[]> run, params string[] arguments)
    {
        using var child = ChildProcess.Start(run, new Dictionary<string, string>(), arguments);
        var error = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEndAsync();
        long peak = 0;
        // VmHWM is the process's own high-water mark: the last reading before it exits is its peak.
        while (!child.HasExited)
        {
            peak = Math.Max(peak, HighWaterMarkKb(child.Id) ?? 0);
            Thread.Sleep(20);
        }
        child.WaitForExit();
        Assert.True(child.ExitCode == 0, stdout.Result + error.Result);
        return peak / 1024;
    }

    static long? HighWaterMarkKb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
        }
        catch (IOException)
        {
            return null;
        }
    }

    static void ClassifyList(string[] arguments)
    {
        var (exitCode, _, error) = CliRunner.Run("classify", "--model", "resnet18", "--weights", Weights, "--files-from", arguments[0], "--shard", "0/1000", "--output", arguments[1]);
        // Every listed file is missing: exit code 1, each named in the output.
        Assert.True(exitCode == 1, error);
    }

    static void MergeList(string[] arguments)
    {
        var (exitCode, _, error) = CliRunner.Run("merge", arguments[1], "--out", arguments[1] + ".merged", "--files-from", arguments[0]);
        var lines = File.ReadLines(arguments[0]).Count();
        var classified = File.ReadLines(arguments[1]).Count() - 1;
        Assert.True(exitCode == 1, error);
        var message = error.Trim();
        Assert.StartsWith($"error: {lines - classified} inputs have no result: ", message);
        Assert.EndsWith($", and {lines - classified - ResultsMerge.Named} more", message);
    }
}
