using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace TorchVisionModels.Serialization;

/// <summary>A Python global a pickle names (<c>module.name</c>): data to us, never resolved or called.</summary>
public sealed record PickleGlobal(string module, string name)
{
    /// <inheritdoc/>
    public override string ToString() => $"{module}.{name}";
}

/// <summary>
/// An object the pickle builds from a global we do not interpret: kept as inert data (the global, its
/// arguments and state), so a checkpoint may carry, say, an argparse.Namespace beside its weights.
/// </summary>
public sealed record PickleObject(PickleGlobal type, object?[] args)
{
    /// <summary>What BUILD set on it (Python's __setstate__ argument), if anything.</summary>
    public object? state { get; set; }
}

/// <summary>
/// A restricted unpickler, like torch.load(weights_only=True): it decodes the opcodes torch.save emits into
/// plain data (dictionaries, lists, tuples as arrays, numbers, strings) and resolves no global: REDUCE on a
/// global asks <c>reduce</c>, which answers for the few globals torch.save uses and otherwise returns an inert
/// <see cref="PickleObject"/>. Nothing is imported, instantiated or executed.
/// </summary>
sealed class PickleReader(Stream stream, Func<object?, object?> persistentLoad, Func<PickleGlobal, object?[], object?> reduce)
{
    readonly BinaryReader input = new(stream, Encoding.UTF8, leaveOpen: true);
    readonly List<object?> stack = [];
    readonly List<int> marks = [];
    readonly Dictionary<long, object?> memo = [];

    public object? Load()
    {
        while (true)
        {
            var opcode = input.ReadByte();
            switch (opcode)
            {
                case 0x80: input.ReadByte(); break;                                  // PROTO
                case 0x95: input.ReadInt64(); break;                                 // FRAME
                case (byte)'.': return Pop();                                        // STOP
                case (byte)'(': marks.Add(stack.Count); break;                       // MARK
                case (byte)'0': Pop(); break;                                        // POP
                case (byte)'1': PopMark(); break;                                    // POP_MARK
                case (byte)'2': stack.Add(stack[^1]); break;                         // DUP
                case (byte)'N': stack.Add(null); break;                              // NONE
                case 0x88: stack.Add(true); break;                                   // NEWTRUE
                case 0x89: stack.Add(false); break;                                  // NEWFALSE
                case (byte)'J': stack.Add((long)input.ReadInt32()); break;           // BININT
                case (byte)'K': stack.Add((long)input.ReadByte()); break;            // BININT1
                case (byte)'M': stack.Add((long)input.ReadUInt16()); break;          // BININT2
                case 0x8a: stack.Add(Long(input.ReadByte())); break;                 // LONG1
                case 0x8b: stack.Add(Long(input.ReadInt32())); break;                // LONG4
                case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(input.ReadBytes(8))); break; // BINFLOAT
                case (byte)'X': stack.Add(Text(input.ReadInt32())); break;           // BINUNICODE
                case 0x8c: stack.Add(Text(input.ReadByte())); break;                 // SHORT_BINUNICODE
                case 0x8d: stack.Add(Text(checked((int)input.ReadInt64()))); break;  // BINUNICODE8
                case (byte)'T': stack.Add(Text(input.ReadInt32())); break;           // BINSTRING (Python 2 str)
                case (byte)'U': stack.Add(Text(input.ReadByte())); break;            // SHORT_BINSTRING
                case (byte)'B': stack.Add(Bytes(input.ReadInt32())); break;          // BINBYTES
                case (byte)'C': stack.Add(Bytes(input.ReadByte())); break;           // SHORT_BINBYTES
                case 0x8e: stack.Add(Bytes(checked((int)input.ReadInt64()))); break; // BINBYTES8
                case (byte)'}': stack.Add(new PickleDictionary()); break;            // EMPTY_DICT
                case (byte)'d': stack.Add(ToDictionary(PopMark())); break;           // DICT
                case (byte)'s': SetItems(2); break;                                  // SETITEM
                case (byte)'u': SetItems(stack.Count - marks[^1], popMark: true); break; // SETITEMS
                case (byte)']': stack.Add(new List<object?>()); break;               // EMPTY_LIST
                case (byte)'l': stack.Add(PopMark().ToList()); break;                // LIST
                case (byte)'a': Append(1); break;                                    // APPEND
                case (byte)'e': Append(stack.Count - marks[^1], popMark: true); break; // APPENDS
                case (byte)')': stack.Add(Array.Empty<object?>()); break;            // EMPTY_TUPLE
                case (byte)'t': stack.Add(PopMark()); break;                         // TUPLE
                case 0x85: stack.Add(PopMany(1)); break;                             // TUPLE1
                case 0x86: stack.Add(PopMany(2)); break;                             // TUPLE2
                case 0x87: stack.Add(PopMany(3)); break;                             // TUPLE3
                case (byte)'c': stack.Add(new PickleGlobal(Line(), Line())); break;  // GLOBAL
                case 0x93: { var name = (string)Pop()!; stack.Add(new PickleGlobal((string)Pop()!, name)); break; } // STACK_GLOBAL
                case (byte)'R': { var args = (object?[])Pop()!; stack.Add(Call(Pop(), args)); break; } // REDUCE
                case 0x81: { var args = (object?[])Pop()!; stack.Add(Call(Pop(), args)); break; }      // NEWOBJ
                case (byte)'b': Build(Pop(), stack[^1]); break;                      // BUILD
                case (byte)'Q': stack.Add(persistentLoad(Pop())); break;             // BINPERSID
                case (byte)'q': memo[input.ReadByte()] = stack[^1]; break;           // BINPUT
                case (byte)'r': memo[input.ReadUInt32()] = stack[^1]; break;         // LONG_BINPUT
                case 0x94: memo[memo.Count] = stack[^1]; break;                      // MEMOIZE
                case (byte)'h': stack.Add(Memo(input.ReadByte())); break;            // BINGET
                case (byte)'j': stack.Add(Memo(input.ReadUInt32())); break;          // LONG_BINGET
                default: throw new InvalidDataException($"unsupported pickle opcode 0x{opcode:x2}");
            }
        }
    }

    object? Pop()
    {
        if (stack.Count == 0 || (marks.Count > 0 && marks[^1] == stack.Count))
            throw new InvalidDataException("pickle stack underflow");
        var top = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return top;
    }

    object?[] PopMany(int count)
    {
        if (stack.Count < count)
            throw new InvalidDataException("pickle stack underflow");
        var items = stack.GetRange(stack.Count - count, count).ToArray();
        stack.RemoveRange(stack.Count - count, count);
        return items;
    }

    object?[] PopMark()
    {
        if (marks.Count == 0)
            throw new InvalidDataException("pickle has no MARK to pop to");
        var items = PopMany(stack.Count - marks[^1]);
        marks.RemoveAt(marks.Count - 1);
        return items;
    }

    void SetItems(int count, bool popMark = false)
    {
        var items = popMark ? PopMark() : PopMany(count);
        if (stack.Count == 0 || stack[^1] is not PickleDictionary dictionary)
            throw new InvalidDataException("pickle SETITEM(S) on something that is not a dict");
        for (var i = 0; i + 1 < items.Length; i += 2)
            dictionary[Key(items[i])] = items[i + 1];
    }

    void Append(int count, bool popMark = false)
    {
        var items = popMark ? PopMark() : PopMany(count);
        if (stack.Count == 0 || stack[^1] is not List<object?> list)
            throw new InvalidDataException("pickle APPEND(S) on something that is not a list");
        list.AddRange(items);
    }

    static PickleDictionary ToDictionary(object?[] items)
    {
        var dictionary = new PickleDictionary();
        for (var i = 0; i + 1 < items.Length; i += 2)
            dictionary[Key(items[i])] = items[i + 1];
        return dictionary;
    }

    static object Key(object? key) => key ?? throw new InvalidDataException("pickle dict has a None key");

    object? Call(object? callable, object?[] args)
        => callable is PickleGlobal global ? reduce(global, args) : throw new InvalidDataException("pickle calls something that is not a global");

    static void Build(object? state, object? target)
    {
        switch (target)
        {
            case PickleObject inert: inert.state = state; break;
            // An OrderedDict's attributes, such as a state dict's _metadata: not part of its items.
            case PickleDictionary: break;
            default: throw new InvalidDataException("pickle BUILD on an object that takes no state");
        }
    }

    object? Memo(long key) => memo.TryGetValue(key, out var value) ? value : throw new InvalidDataException($"pickle refers to memo {key}, which it never stored");

    string Text(long length) => Encoding.UTF8.GetString(Bytes(length));

    byte[] Bytes(long length)
    {
        if (length < 0 || length > stream.Length - stream.Position)
            throw new InvalidDataException("pickle string runs past the end of the data");
        return input.ReadBytes((int)length);
    }

    string Line()
    {
        var line = new StringBuilder();
        for (var c = input.ReadByte(); c != '\n'; c = input.ReadByte())
            line.Append((char)c);
        return line.ToString();
    }

#pragma warning disable CA1859 // It returns a boxed long or a BigInteger: the analyzer sees only the BigInteger.
    object Long(int length)
#pragma warning restore CA1859
    {
        var value = new BigInteger(Bytes(length), isUnsigned: false, isBigEndian: false);
        // The cast to object matters: "? (long)value : value" would convert the long back to BigInteger.
        return value >= long.MinValue && value <= long.MaxValue ? (object)(long)value : value;
    }
}

/// <summary>A Python dict or OrderedDict, in insertion order; keys are strings or numbers.</summary>
public sealed class PickleDictionary : OrderedDictionary<object, object?>
{
}
