using System.Buffers.Binary;
using System.Net;
using System.Numerics;
using Google.Protobuf;

namespace TorchVisionModels.Training;

/// <summary>
/// TensorBoard event files, as <c>torch.utils.tensorboard.SummaryWriter</c> writes them, so <c>tensorboard --logdir</c>
/// shows a .NET run's curves beside PyTorch's: one <c>events.out.tfevents.*</c> file per writer, a record per event
/// (TFRecord framing, CRC-32C checked), scalars as old-style <c>simple_value</c>s. Each event is flushed as it is
/// written: a reader sees every finished step, and a kill tears at most the last record, which TensorBoard skips.
/// </summary>
public sealed class SummaryWriter : IDisposable
{
    // tensorboard's process-wide counter, the last part of the file name: two writers in one second get two files.
    static int uid = -1;

    // Field numbers of tensorflow's event.proto and summary.proto.
    const int WallTime = 1, Step = 2, FileVersion = 3, Summary = 5, SessionLog = 6;
    const int SummaryValue = 1, ValueTag = 1, ValueSimpleValue = 2, SessionLogStatus = 1, SessionLogStart = 1;

    readonly FileStream file;
    readonly TimeProvider time;

    /// <summary>
    /// Creates <paramref name="log_dir"/> if missing and a new event file in it. With <paramref name="purge_step"/>,
    /// TensorBoard drops what earlier files recorded at that step and after: a resumed run redoing those steps.
    /// </summary>
    /// <param name="log_dir">The folder <c>tensorboard --logdir</c> is pointed at.</param>
    /// <param name="purge_step">The first step this writer records again, or null.</param>
    /// <param name="time">The clock for each event's wall time; the system's by default.</param>
    public SummaryWriter(string log_dir, long? purge_step = null, TimeProvider? time = null)
    {
        this.time = time ?? TimeProvider.System;
        Directory.CreateDirectory(log_dir);
        var now = Now();
        FileName = Path.Combine(log_dir, FormattableString.Invariant(
            $"events.out.tfevents.{(long)now:D10}.{Dns.GetHostName()}.{Environment.ProcessId}.{Interlocked.Increment(ref uid)}"));
        file = new FileStream(FileName, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        Write(Event(now, null, FileVersion, "brain.Event:2"u8.ToArray()));
        if (purge_step is { } step)
        {
            Write(Event(Now(), step, FileVersion, "brain.Event:2"u8.ToArray()));
            Write(Event(Now(), step, SessionLog, Message(o => o.WriteTag(SessionLogStatus, WireFormat.WireType.Varint), o => o.WriteEnum(SessionLogStart))));
        }
    }

    /// <summary>The event file this writer appends to.</summary>
    public string FileName { get; }

    /// <summary>Records <paramref name="scalar_value"/> (as float32, as PyTorch stores it) under <paramref name="tag"/>.</summary>
    /// <param name="tag">The chart's name; a <c>/</c> groups charts (<c>loss/train</c>).</param>
    /// <param name="scalar_value">The value.</param>
    /// <param name="global_step">The x axis: the step or epoch; none is step 0.</param>
    /// <param name="walltime">Seconds since the Unix epoch; now by default.</param>
    public void add_scalar(string tag, double scalar_value, long? global_step = null, double? walltime = null)
    {
        var value = Message(o => o.WriteTag(ValueTag, WireFormat.WireType.LengthDelimited), o => o.WriteString(tag),
            o => o.WriteTag(ValueSimpleValue, WireFormat.WireType.Fixed32), o => o.WriteFloat((float)scalar_value));
        var summary = Message(o => o.WriteTag(SummaryValue, WireFormat.WireType.LengthDelimited), o => o.WriteBytes(ByteString.CopyFrom(value)));
        Write(Event(walltime ?? Now(), global_step, Summary, summary));
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => file.Dispose();

    double Now() => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).TotalSeconds;

    /// <summary>An Event: its wall time, its step when not 0 (proto3 leaves zeros out), and one field of its <c>what</c>.</summary>
    static byte[] Event(double wallTime, long? step, int field, byte[] message)
    {
        var parts = new List<Action<CodedOutputStream>>();
        if (wallTime != 0)
            parts.AddRange([o => o.WriteTag(WallTime, WireFormat.WireType.Fixed64), o => o.WriteDouble(wallTime)]);
        if (step is { } s and not 0)
            parts.AddRange([o => o.WriteTag(Step, WireFormat.WireType.Varint), o => o.WriteInt64(s)]);
        parts.AddRange([o => o.WriteTag(field, WireFormat.WireType.LengthDelimited), o => o.WriteBytes(ByteString.CopyFrom(message))]);
        return Message([.. parts]);
    }

    static byte[] Message(params Action<CodedOutputStream>[] parts)
    {
        using var bytes = new MemoryStream();
        using (var output = new CodedOutputStream(bytes, leaveOpen: true))
        {
            foreach (var part in parts)
                part(output);
        }
        return bytes.ToArray();
    }

    /// <summary>One TFRecord: the length, its masked CRC-32C, the data, the data's masked CRC-32C.</summary>
    void Write(byte[] data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc(data));
        file.Write(header);
        file.Write(data);
        file.Write(footer);
        file.Flush();
    }

    /// <summary>CRC-32C (Castagnoli), masked as TFRecord masks it so a CRC of CRCs is not trivially one.</summary>
    static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        var crc = ~0u;
        foreach (var b in data)
            crc = BitOperations.Crc32C(crc, b);
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
    }
}
