namespace Inference.Tests.Cli;

/// <summary>A list of a million paths streams: the listing and sharding hold no more memory than a list of ten thousand.</summary>
public sealed class ClassifyScaleTests : IDisposable
{
    static readonly string Weights = Fixtures.PathOf("forward_resnet18.weights.pt");
    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("classify-scale-");

    public void Dispose() => directory.Delete(recursive: true);

    // Measured (AMD EPYC): 1,000,000 listed paths peaked 6 MB above 10,000 (444 MB against 438, the model included);
    // the list held in memory would cost about 110 MB.
    const long AllowedGrowthMb = 40;

    [Fact]
    public void AMillionListedPathsKeepMemoryFlat()
    {
        var small = PeakRssMb(List(10_000));
        var large = PeakRssMb(List(1_000_000));
        Assert.True(large - small <= AllowedGrowthMb, $"peak RSS {large} MB with 1,000,000 paths against {small} MB with 10,000");
    }

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

    long PeakRssMb(string list)
    {
        var output = Path.Combine(directory.FullName, Path.GetFileNameWithoutExtension(list) + ".jsonl");
        using var child = ChildProcess.Start(ClassifyList, new Dictionary<string, string>(), list, output);
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
}
