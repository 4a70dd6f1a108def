using System.Buffers.Binary;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using TorchVisionModels.Training;

namespace TorchVisionModels.Tests.Training;

/// <summary>
/// TensorBoard event files byte for byte as torch.utils.tensorboard writes them: the generator replays SummaryWriter's
/// calls through Google's protobuf and a CRC-32C computed from its definition (tensorboard is not packaged here).
/// </summary>
public sealed class SummaryWriterTests : IDisposable
{
    readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("summary-writer-");

    public void Dispose() => directory.Delete(recursive: true);

    /// <summary>A clock that gives the fixture's times in turn.</summary>
    sealed class Clock(IEnumerable<double> seconds) : TimeProvider
    {
        readonly Queue<double> times = new(seconds);

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UnixEpoch.AddTicks((long)(times.Dequeue() * TimeSpan.TicksPerSecond));
    }

    [Fact]
    public void WritesTheBytesPyTorchWrites()
    {
        var calls = Fixtures.Json("tensorboard/calls.json");
        var clock = new Clock(calls.GetProperty("clock").EnumerateArray().Select(t => t.GetDouble()));
        string file;
        using (var writer = new SummaryWriter(directory.FullName, purge_step: calls.GetProperty("purge_step").GetInt64(), time: clock))
        {
            foreach (var call in calls.GetProperty("scalars").EnumerateArray())
            {
                long? step = call.GetProperty("step").ValueKind == JsonValueKind.Null ? null : call.GetProperty("step").GetInt64();
                double? walltime = call.GetProperty("walltime").ValueKind == JsonValueKind.Null ? null : call.GetProperty("walltime").GetDouble();
                writer.add_scalar(call.GetProperty("tag").GetString()!, call.GetProperty("value").GetDouble(), step, walltime);
            }
            file = writer.FileName;
        }
        Assert.Equal(File.ReadAllBytes(Fixtures.PathOf("tensorboard/events.bin")), File.ReadAllBytes(file));
    }

    [Fact]
    public void NamesItsFileAsTensorBoardDoes()
    {
        using var first = new SummaryWriter(directory.FullName);
        using var second = new SummaryWriter(directory.FullName);
        // events.out.tfevents.{seconds, 10 digits}.{host}.{pid}.{a counter}: two writers in one second get two files.
        var pattern = new Regex($@"^events\.out\.tfevents\.\d{{10}}\.{Regex.Escape(System.Net.Dns.GetHostName())}\.{Environment.ProcessId}\.(\d+)$");
        var (a, b) = (pattern.Match(Path.GetFileName(first.FileName)), pattern.Match(Path.GetFileName(second.FileName)));
        Assert.True(a.Success && b.Success, $"{first.FileName}, {second.FileName}");
        Assert.Equal(int.Parse(a.Groups[1].Value) + 1, int.Parse(b.Groups[1].Value));
    }

    /// <summary>An event as the test reads it back: its step, and a scalar's tag and value or a file version or a session status.</summary>
    internal sealed record Event(long Step, string? Tag, float? Value, string? FileVersion, int? SessionStatus);

    /// <summary>Reads an event file record by record (the framing's CRCs are checked by <see cref="WritesTheBytesPyTorchWrites"/>).</summary>
    internal static List<Event> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        for (var at = 0; at < bytes.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            var input = new CodedInputStream(bytes, at + 12, length);
            var (step, tag, value, version, status) = (0L, (string?)null, (float?)null, (string?)null, (int?)null);
            while (input.ReadTag() is var eventTag and not 0)
            {
                switch (WireFormat.GetTagFieldNumber(eventTag))
                {
                    case 2: step = input.ReadInt64(); break;
                    case 3: version = input.ReadString(); break;
                    case 5:
                        var summary = new CodedInputStream(input.ReadBytes().ToByteArray());
                        summary.ReadTag();
                        var field = new CodedInputStream(summary.ReadBytes().ToByteArray());
                        while (field.ReadTag() is var valueTag and not 0)
                        {
                            if (WireFormat.GetTagFieldNumber(valueTag) == 1)
                                tag = field.ReadString();
                            else
                                value = field.ReadFloat();
                        }
                        break;
                    case 6:
                        var log = new CodedInputStream(input.ReadBytes().ToByteArray());
                        log.ReadTag();
                        status = log.ReadEnum();
                        break;
                    default: input.SkipLastField(); break;
                }
            }
            events.Add(new(step, tag, value, version, status));
            at += 12 + length + 4;
        }
        return events;
    }
}
