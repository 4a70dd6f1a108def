using System.Diagnostics;
using TorchVisionModels.Serialization;
using TorchVisionModels.Transforms;
using static TorchSharp.torch;

namespace TorchVisionModels.Tests.Fuzz;

/// <summary>
/// A bounded fuzz pass over hostile inputs: good images and checkpoints, broken by a seeded generator (cut short,
/// bytes overwritten, lengths and dimensions made huge, slices repeated). The property: a clear error or a correct
/// load, never a crash (each format runs in a child process), a hang or an unbounded allocation. A failure names
/// the seed and the case, so it reproduces.
/// </summary>
public class FuzzTests
{
    const int Seed = 20261130;
    const int Cases = 200;
    static readonly TimeSpan TimeLimit = TimeSpan.FromSeconds(5);
    const long AllocationLimit = 1L << 30; // a legitimate image at PIL's pixel limit decodes to 268 MB

    /// <summary>cases.py's fuzzing seeds of one kind: images or checkpoints.</summary>
    public static TheoryData<string> Seeds(string kind) => new(Fixtures.Strings(Fixtures.Cases.GetProperty("fuzz").GetProperty(kind)));

    [Theory]
    [MemberData(nameof(Seeds), "images")]
    public void BrokenImagesFailCleanly(string name) => ChildProcess.Run(BrokenImagesInThisProcess, name);

    static void BrokenImagesInThisProcess(string[] arguments)
        => Fuzz(arguments[0], path => ImageFile.Load(path), e => e is ImageFileException);

    [Theory]
    [MemberData(nameof(Seeds), "checkpoints")]
    public void BrokenCheckpointsFailCleanly(string name) => ChildProcess.Run(BrokenCheckpointsInThisProcess, name);

    static void BrokenCheckpointsInThisProcess(string[] arguments) => Fuzz(arguments[0], path =>
    {
        using var model = nn.Linear(3, 4);
        model.load_state_dict(path, strict: false);
    }, e => e is CheckpointException);

    /// <summary>Runs <paramref name="load"/> on <see cref="Cases"/> broken copies of the fixture; throws listing every case that broke the property.</summary>
    static void Fuzz(string fixture, Action<string> load, Func<Exception, bool> clean)
    {
        var original = File.ReadAllBytes(Fixtures.PathOf(fixture));
        var path = Path.Combine(Path.GetTempPath(), $"fuzz-{Guid.NewGuid():N}{Path.GetExtension(fixture)}");
        var failures = new List<string>();
        try
        {
            for (var i = 0; i < Cases; i++)
            {
                var (how, bytes) = Break(original, new Random(Seed + i));
                File.WriteAllBytes(path, bytes);
                var clock = Stopwatch.StartNew();
                var before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    load(path);
                }
                catch (Exception e) when (clean(e))
                {
                }
                catch (Exception e)
                {
                    failures.Add($"case {i} ({how}): {e.GetType().Name}: {e.Message}");
                }
                var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (clock.Elapsed > TimeLimit || allocated > AllocationLimit)
                    failures.Add($"case {i} ({how}): {clock.Elapsed.TotalSeconds:F1} s, {allocated:N0} bytes allocated");
            }
        }
        finally
        {
            File.Delete(path);
        }
        Assert.True(failures.Count == 0, $"{fixture}, seed {Seed}: {failures.Count} of {Cases} cases failed unclean:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
    }

    /// <summary>One broken copy: how it was broken, and its bytes.</summary>
    static (string how, byte[] bytes) Break(byte[] original, Random random)
    {
        var bytes = (byte[])original.Clone();
        // Headers and chunk lengths sit near the start: aim half the damage there.
        int Position() => random.Next(2) == 0 ? random.Next(Math.Min(bytes.Length, 256)) : random.Next(bytes.Length);
        switch (random.Next(4))
        {
            case 0:
                var length = random.Next(bytes.Length);
                return ($"cut at {length}", bytes[..length]);
            case 1:
                var count = random.Next(1, 9);
                var changed = new List<int>();
                for (var k = 0; k < count; k++)
                {
                    var at = Position();
                    bytes[at] = (byte)random.Next(256);
                    changed.Add(at);
                }
                return ($"bytes at {string.Join(", ", changed)} overwritten", bytes);
            case 2:
                var where = Math.Min(Position(), bytes.Length - 4);
                byte[] huge = random.Next(2) == 0 ? [0x7f, 0xff, 0xff, 0xff] : [0xff, 0xff, 0xff, 0x7f];
                huge.CopyTo(bytes, where);
                return ($"huge number at {where}", bytes);
            default:
                var start = random.Next(bytes.Length);
                var slice = bytes[start..Math.Min(bytes.Length, start + random.Next(1, 4096))];
                var into = Position();
                return ($"{slice.Length} bytes from {start} repeated at {into}", [.. bytes[..into], .. slice, .. bytes[into..]]);
        }
    }
}
