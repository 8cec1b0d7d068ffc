using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EncoderKit.IO;

/// <summary>
/// Reads the <c>data.pkl</c> of a PyTorch checkpoint without running any of it. Python's pickle is a small stack
/// machine whose <c>GLOBAL</c> + <c>REDUCE</c> call any function by name (<c>os.system</c> included); this one knows
/// only what a state dict holds: strings, numbers, tuples, lists, dicts, <c>collections.OrderedDict</c>,
/// <c>torch._utils._rebuild_tensor_v2</c> / <c>_rebuild_parameter</c>, and the <c>torch.*Storage</c> types named
/// by persistent ids that point into <c>data/</c>. Every other global, and every opcode that builds an arbitrary
/// object, is refused with an error naming it.
/// </summary>
internal sealed class RestrictedUnpickler
{
    /// <summary>A global the pickle named (only allowed ones are ever made).</summary>
    internal sealed record Global(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    /// <summary>A dict or OrderedDict, keys in insertion order.</summary>
    internal sealed class PickleDict
    {
        public List<KeyValuePair<object?, object?>> Items { get; } = [];
    }

    /// <summary>A storage: the element type and the <c>data/{key}</c> record holding <c>Numel</c> elements.</summary>
    internal sealed record StorageRef(TensorDtype Dtype, string Key, long Numel);

    /// <summary>A tensor view on a storage: element offset, shape and strides in elements.</summary>
    internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

    sealed class MarkObject
    {
        public static readonly MarkObject Instance = new();
    }

    internal static readonly Dictionary<string, TensorDtype> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = TensorDtype.F32, ["DoubleStorage"] = TensorDtype.F64, ["HalfStorage"] = TensorDtype.F16,
        ["BFloat16Storage"] = TensorDtype.BF16, ["LongStorage"] = TensorDtype.I64, ["IntStorage"] = TensorDtype.I32,
        ["ShortStorage"] = TensorDtype.I16, ["CharStorage"] = TensorDtype.I8, ["ByteStorage"] = TensorDtype.U8,
        ["BoolStorage"] = TensorDtype.BOOL,
    };

    const int MaxMemo = 10_000_000;

    readonly byte[] _data;
    readonly string _file;
    readonly List<object?> _stack = [];
    readonly Dictionary<long, object?> _memo = [];
    int _pos;

    RestrictedUnpickler(byte[] data, string file)
    {
        _data = data;
        _file = file;
    }

    /// <summary>Runs the pickle in <paramref name="data"/> and returns the object it builds.</summary>
    /// <param name="file">The name errors give (the checkpoint and its pickle record).</param>
    public static object? Load(byte[] data, string file) => new RestrictedUnpickler(data, file).Run();

    EncoderKitException Fail(string problem) =>
        new(ErrorKind.BadCheckpoint, $"{problem} (at byte {_pos} of the pickle)", file: _file);

    object? Run()
    {
        while (true)
        {
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break;                                   // PROTO
                case 0x95: Read(8); break;                                      // FRAME (a length hint)
                case (byte)'.':                                                 // STOP
                    if (_stack.Count != 1) throw Fail($"pickle ends with {_stack.Count} objects on its stack, not one");
                    return Pop();
                case (byte)'(': Push(MarkObject.Instance); break;                // MARK
                case (byte)'N': Push(null); break;                              // NONE
                case 0x88: Push(true); break;                                   // NEWTRUE
                case 0x89: Push(false); break;                                  // NEWFALSE
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break;                  // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte())); break;                   // LONG1
                case (byte)'I': Push(ParseIntLine(ReadLine())); break;          // INT
                case (byte)'L': Push(ParseLongLine(ReadLine())); break;         // LONG
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8))); break; // BINFLOAT
                case (byte)'X': Push(Utf8(Length(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))))); break; // BINUNICODE
                case 0x8c: Push(Utf8(ReadByte())); break;                       // SHORT_BINUNICODE
                case 0x8d: Push(Utf8(Length(BinaryPrimitives.ReadUInt64LittleEndian(Read(8))))); break; // BINUNICODE8
                case (byte)'T': Push(Latin1(Length(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))))); break; // BINSTRING
                case (byte)'U': Push(Latin1(ReadByte())); break;                // SHORT_BINSTRING
                case (byte)'B': Push(Read(Length(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))).ToArray()); break; // BINBYTES
                case (byte)'C': Push(Read(ReadByte()).ToArray()); break;        // SHORT_BINBYTES
                case (byte)'}': Push(new PickleDict()); break;                  // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break;               // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object?>()); break;            // EMPTY_TUPLE
                case (byte)'t': Push(PopToMark().ToArray()); break;             // TUPLE
                case 0x85: Push(new[] { Pop() }); break;                        // TUPLE1
                case 0x86: { object? b = Pop(), a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { object? c = Pop(), b = Pop(), a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'l': Push(PopToMark()); break;                       // LIST
                case (byte)'d': Push(DictFrom(PopToMark())); break;             // DICT
                case (byte)'a': { object? v = Pop(); AsList(Peek()).Add(v); break; }      // APPEND
                case (byte)'e': { List<object?> items = PopToMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                case (byte)'s': { object? v = Pop(), k = Pop(); AsDict(Peek()).Items.Add(new(k, v)); break; } // SETITEM
                case (byte)'u':                                                 // SETITEMS
                {
                    List<object?> items = PopToMark();
                    if (items.Count % 2 != 0) throw Fail("SETITEMS with an odd number of objects");
                    PickleDict dict = AsDict(Peek());
                    for (int i = 0; i < items.Count; i += 2) dict.Items.Add(new(items[i], items[i + 1]));
                    break;
                }
                case (byte)'q': Memo(ReadByte(), Peek()); break;               // BINPUT
                case (byte)'r': Memo(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)), Peek()); break; // LONG_BINPUT
                case 0x94: Memo(_memo.Count, Peek()); break;                    // MEMOIZE
                case (byte)'p': Memo(ParseLongLine(ReadLine()), Peek()); break; // PUT
                case (byte)'h': Push(Recall(ReadByte())); break;                // BINGET
                case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))); break; // LONG_BINGET
                case (byte)'g': Push(Recall(ParseLongLine(ReadLine()))); break; // GET
                case (byte)'c':                                                 // GLOBAL
                {
                    string module = ReadLine(), name = ReadLine();
                    Push(Allow(module, name));
                    break;
                }
                case 0x93:                                                      // STACK_GLOBAL
                {
                    object? name = Pop(), module = Pop();
                    if (module is not string m || name is not string n) throw Fail("STACK_GLOBAL without two strings");
                    Push(Allow(m, n));
                    break;
                }
                case (byte)'Q': Push(PersistentLoad(Pop())); break;             // BINPERSID
                case (byte)'R': { object? args = Pop(), callable = Pop(); Push(Reduce(callable, args)); break; } // REDUCE
                case (byte)'b': { object? state = Pop(); Build(Peek(), state); break; } // BUILD
                case (byte)'0': Pop(); break;                                   // POP
                case (byte)'1': PopToMark(); break;                             // POP_MARK
                case (byte)'2': Push(Peek()); break;                            // DUP
                default:
                    throw Fail(op switch
                    {
                        (byte)'o' or (byte)'i' or 0x81 or 0x92 => $"opcode '{(char)op}' (0x{op:x2}) would build an arbitrary object; refusing it",
                        (byte)'P' => "a text persistent id; a PyTorch checkpoint uses binary ones",
                        0x82 or 0x83 or 0x84 => "an extension-registry opcode; refusing it",
                        _ => $"unsupported pickle opcode 0x{op:x2}",
                    });
            }
        }
    }

    /// <summary>
    /// The only globals a state dict needs. Naming any other is refused here, before it could be called.
    /// </summary>
    Global Allow(string module, string name)
    {
        bool allowed = (module, name) switch
        {
            ("collections", "OrderedDict") => true,
            ("torch._utils", "_rebuild_tensor_v2") => true,
            ("torch._utils", "_rebuild_parameter") => true,
            ("torch", _) => StorageTypes.ContainsKey(name),
            _ => false,
        };
        if (!allowed)
            throw Fail($"refuses global '{module}.{name}': a PyTorch state dict needs only tensors, storages and "
                       + "OrderedDict, and calling anything else could run code");
        return new Global(module, name);
    }

    object Reduce(object? callable, object? args)
    {
        if (args is not object?[] a) throw Fail("REDUCE without an argument tuple");
        switch (callable)
        {
            case Global { Module: "collections", Name: "OrderedDict" }:
                if (a.Length != 0) throw Fail("OrderedDict built from arguments; a state dict builds it empty");
                return new PickleDict();
            case Global { Module: "torch._utils", Name: "_rebuild_tensor_v2" }:
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (a.Length is not (6 or 7) || a[0] is not StorageRef storage || a[1] is not long offset
                    || a[2] is not object?[] size || a[3] is not object?[] stride || size.Length != stride.Length)
                    throw Fail("_rebuild_tensor_v2 with arguments that are not (storage, offset, size, stride, ...)");
                return new TensorRef(storage, offset, Longs(size, "size"), Longs(stride, "stride"));
            case Global { Module: "torch._utils", Name: "_rebuild_parameter" }:
                // (data, requires_grad, backward_hooks): a Parameter is its tensor here
                if (a.Length != 3 || a[0] is not TensorRef tensor) throw Fail("_rebuild_parameter without a tensor");
                return tensor;
            case Global g:
                throw Fail($"refuses to call '{g}'");
            default:
                throw Fail("REDUCE on something that is not a global");
        }
    }

    void Build(object? target, object? state)
    {
        // An OrderedDict's attributes: a state dict carries its `_metadata` this way. Kept out of the tensors.
        if (target is PickleDict && state is null or PickleDict) return;
        throw Fail($"BUILD on {Describe(target)}; only a state dict's OrderedDict takes attributes");
    }

    StorageRef PersistentLoad(object? pid)
    {
        // ('storage', storage_type, key, location, numel), as torch.save writes it
        if (pid is not object?[] { Length: 5 } t || t[0] is not "storage")
            throw Fail("a persistent id that is not ('storage', type, key, location, size)");
        if (t[1] is not Global { Module: "torch" } type || !StorageTypes.TryGetValue(type.Name, out TensorDtype dtype))
            throw Fail($"storage of type {Describe(t[1])}, not one of torch's storage types");
        if (t[2] is not string key || key.Length == 0 || key.Length > 64 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') || key.Contains(".."))
            throw Fail($"storage key {Describe(t[2])} is not a plain record name");
        if (t[4] is not long numel || numel < 0) throw Fail($"storage {key} has no element count");
        return new StorageRef(dtype, key, numel);
    }

    long[] Longs(object?[] values, string what)
    {
        var result = new long[values.Length];
        for (int i = 0; i < values.Length; i++)
            result[i] = values[i] is long v ? v : throw Fail($"tensor {what} holds {Describe(values[i])}, not integers");
        return result;
    }

    PickleDict DictFrom(List<object?> items)
    {
        if (items.Count % 2 != 0) throw Fail("DICT with an odd number of objects");
        var dict = new PickleDict();
        for (int i = 0; i < items.Count; i += 2) dict.Items.Add(new(items[i], items[i + 1]));
        return dict;
    }

    List<object?> AsList(object? value) => value as List<object?> ?? throw Fail($"APPEND to {Describe(value)}");
    PickleDict AsDict(object? value) => value as PickleDict ?? throw Fail($"SETITEM on {Describe(value)}");

    static string Describe(object? value) => value switch
    {
        null => "None",
        string s => $"'{s}'",
        Global g => $"'{g}'",
        _ => value.GetType().Name,
    };

    void Memo(long key, object? value)
    {
        if (_memo.Count >= MaxMemo) throw Fail("memo too large");
        _memo[key] = value;
    }

    object? Recall(long key) => _memo.TryGetValue(key, out object? value) ? value : throw Fail($"memo entry {key} was never stored");

    void Push(object? value) => _stack.Add(value);

    object? Peek() => _stack.Count > 0 && _stack[^1] is not MarkObject ? _stack[^1] : throw Fail("stack underflow");

    object? Pop()
    {
        object? value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    List<object?> PopToMark()
    {
        int mark = _stack.FindLastIndex(o => o is MarkObject);
        if (mark < 0) throw Fail("no MARK on the stack");
        List<object?> items = _stack.GetRange(mark + 1, _stack.Count - mark - 1);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    byte ReadByte() => Read(1)[0];

    ReadOnlySpan<byte> Read(int count)
    {
        if (count < 0 || _pos > _data.Length - count) throw Fail("the pickle ends early");
        var span = new ReadOnlySpan<byte>(_data, _pos, count);
        _pos += count;
        return span;
    }

    int Length(ulong length) => length <= int.MaxValue ? (int)length : throw Fail("a string longer than 2 GB");

    string Utf8(int length) => Encoding.UTF8.GetString(Read(length));
    string Latin1(int length) => Encoding.Latin1.GetString(Read(length));

    string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0) throw Fail("the pickle ends inside a line");
        string line = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return line;
    }

    long ReadLong(int length)
    {
        if (length > 8) throw Fail("an integer wider than 64 bits");
        ReadOnlySpan<byte> bytes = Read(length);
        if (length == 0) return 0;
        long value = (sbyte)bytes[length - 1]; // sign from the top byte
        for (int i = length - 2; i >= 0; i--) value = (value << 8) | bytes[i];
        return value;
    }

    object ParseIntLine(string line) => line switch
    {
        "01" => true,
        "00" => false,
        _ => ParseLongLine(line),
    };

    long ParseLongLine(string line) =>
        long.TryParse(line.TrimEnd('L'), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) ? v : throw Fail($"bad integer '{line}'");
}
