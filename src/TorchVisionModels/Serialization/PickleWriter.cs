using System.Buffers.Binary;
using System.Text;

namespace TorchVisionModels.Serialization;

/// <summary>
/// Writes plain data as a protocol-2 pickle, the protocol torch.save uses: null, bool, integers, double, string,
/// lists, tuples (arrays), dictionaries (as OrderedDict when asked) and whatever <c>persist</c> turns into a
/// global call (tensors).
/// </summary>
sealed class PickleWriter(Stream stream)
{
    readonly BinaryWriter output = new(stream, Encoding.UTF8, leaveOpen: true);

    /// <summary>A global called with arguments: how a tensor is written (torch._utils._rebuild_tensor_v2(...)).</summary>
    public sealed record Call(PickleGlobal function, object?[] args);

    /// <summary>A persistent id: how a storage is written (a reference to a record of the zip file).</summary>
    public sealed record PersistentId(object?[] id);

    /// <summary>A dictionary written as collections.OrderedDict, which state dicts are.</summary>
    public sealed record OrderedDict(IEnumerable<KeyValuePair<string, object?>> items);

    public void Dump(object? value)
    {
        output.Write((byte)0x80);
        output.Write((byte)2);
        Write(value);
        output.Write((byte)'.');
        output.Flush();
    }

    void Write(object? value)
    {
        switch (value)
        {
            case null: output.Write((byte)'N'); break;
            case bool b: output.Write(b ? (byte)0x88 : (byte)0x89); break;
            case int i: WriteInt(i); break;
            case long l: WriteInt(l); break;
            case double d:
                output.Write((byte)'G');
                Span<byte> bytes = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleBigEndian(bytes, d);
                output.Write(bytes);
                break;
            case string s:
                var utf8 = Encoding.UTF8.GetBytes(s);
                output.Write((byte)'X');
                output.Write(utf8.Length);
                output.Write(utf8);
                break;
            case object?[] tuple:
                output.Write((byte)'(');
                foreach (var item in tuple)
                    Write(item);
                output.Write((byte)'t');
                break;
            case Call call:
                WriteGlobal(call.function);
                Write(call.args);
                output.Write((byte)'R');
                break;
            case PersistentId pid:
                Write(pid.id);
                output.Write((byte)'Q');
                break;
            case PickleGlobal global:
                WriteGlobal(global);
                break;
            case OrderedDict dict:
                WriteGlobal(new PickleGlobal("collections", "OrderedDict"));
                output.Write((byte)')');
                output.Write((byte)'R');
                WriteItems(dict.items.Select(kv => new KeyValuePair<object, object?>(kv.Key, kv.Value)));
                break;
            case System.Collections.IDictionary dict:
                output.Write((byte)'}');
                WriteItems(Entries(dict));
                break;
            case System.Collections.IList list:
                output.Write((byte)']');
                output.Write((byte)'(');
                foreach (var item in list)
                    Write(item);
                output.Write((byte)'e');
                break;
            default:
                throw new ArgumentException($"cannot pickle a {value.GetType().Name}");
        }
    }

    /// <summary>A non-generic dictionary's entries (its IEnumerable may yield KeyValuePairs, not DictionaryEntries).</summary>
    public static IEnumerable<KeyValuePair<object, object?>> Entries(System.Collections.IDictionary dictionary)
    {
        foreach (System.Collections.DictionaryEntry entry in dictionary)
            yield return new(entry.Key, entry.Value);
    }

    void WriteItems(IEnumerable<KeyValuePair<object, object?>> items)
    {
        output.Write((byte)'(');
        foreach (var (key, value) in items)
        {
            Write(key);
            Write(value);
        }
        output.Write((byte)'u');
    }

    void WriteGlobal(PickleGlobal global)
    {
        output.Write((byte)'c');
        output.Write(Encoding.ASCII.GetBytes($"{global.module}\n{global.name}\n"));
    }

    void WriteInt(long value)
    {
        if (value is >= 0 and <= byte.MaxValue)
        {
            output.Write((byte)'K');
            output.Write((byte)value);
        }
        else if (value is >= 0 and <= ushort.MaxValue)
        {
            output.Write((byte)'M');
            output.Write((ushort)value);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            output.Write((byte)'J');
            output.Write((int)value);
        }
        else
        {
            output.Write((byte)0x8a);
            output.Write((byte)8);
            output.Write(value);
        }
    }
}
