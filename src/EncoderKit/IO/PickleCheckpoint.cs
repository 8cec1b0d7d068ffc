using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.IO.Compression;
using System.IO.MemoryMappedFiles;
using System.Text;
using static EncoderKit.IO.RestrictedUnpickler;

namespace EncoderKit.IO;

/// <summary>
/// A PyTorch checkpoint (<c>pytorch_model.bin</c>) read without executing it. The file is the zip that
/// <c>torch.save</c> writes since PyTorch 1.6: <c>{archive}/data.pkl</c> (the state dict, pickled),
/// <c>{archive}/data/{key}</c> (one record per storage, raw little-endian elements), <c>{archive}/byteorder</c>.
/// The pickle goes through <see cref="RestrictedUnpickler"/>, which knows only a state dict's types and refuses the
/// rest; the records are memory-mapped, and a tensor that is a contiguous view is served straight from the map.
/// </summary>
/// <remarks>
/// Not read: the pre-1.6 format (one long pickle stream), tensor subclasses, quantized or sparse tensors,
/// encrypted zips. A view that is not contiguous (a transposed tied weight, say) is copied once, into row-major order.
/// </remarks>
public sealed unsafe class PickleCheckpoint : ITensorSource
{
    readonly string _path;
    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    readonly byte* _base;
    readonly Dictionary<string, Entry> _tensors = new(StringComparer.Ordinal);
    readonly List<TensorInfo> _order = [];
    bool _disposed;

    /// <summary>Where a tensor's bytes are: a range of the mapped file, or a copy.</summary>
    readonly record struct Entry(TensorInfo Info, long Offset, long Length, byte[]? Copy);

    /// <summary>A stored record of the zip: where its data starts, its sizes, and how it is compressed.</summary>
    readonly record struct ZipEntry(long DataOffset, long CompressedSize, long Size, int Method);

    PickleCheckpoint(string path)
    {
        _path = path;
        long length = UserFile.Read(path, () => new FileInfo(path).Length);
        if (length < 22) throw Bad("too short to be a PyTorch zip checkpoint");
        _map = UserFile.Read(path, () => MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read));
        _view = _map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
        try
        {
            Load(length);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Opens a checkpoint; every problem (not a zip, a refused global, a view past its storage) names the file.</summary>
    public static PickleCheckpoint Open(string path)
    {
        if (!File.Exists(path)) throw new EncoderKitException(ErrorKind.MissingFile, "no such checkpoint file", file: path);
        return new PickleCheckpoint(path);
    }

    public IReadOnlyCollection<TensorInfo> Tensors => _order;

    public bool TryGet(string name, [NotNullWhen(true)] out TensorInfo? info)
    {
        bool found = _tensors.TryGetValue(name, out Entry entry);
        info = found ? entry.Info : null;
        return found;
    }

    public ReadOnlySpan<byte> Bytes(string name)
    {
        Entry entry = Find(name);
        if (entry.Length > int.MaxValue)
            throw new NotSupportedException($"{name} holds {entry.Length} bytes, more than a span can address; read it in windows.");
        return Bytes(name, 0, (int)entry.Length);
    }

    public ReadOnlySpan<byte> Bytes(string name, long offset, int count)
    {
        Entry entry = Find(name);
        ByteWindow.Check(offset, count, entry.Length);
        return entry.Copy is not null ? entry.Copy.AsSpan((int)offset, count) : new ReadOnlySpan<byte>(_base + entry.Offset + offset, count);
    }

    Entry Find(string name)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _tensors.TryGetValue(name, out Entry entry) ? entry
            : throw new EncoderKitException(ErrorKind.BadCheckpoint, "no such tensor in the checkpoint", file: _path, field: name);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_base is not null) _view!.SafeMemoryMappedViewHandle.ReleasePointer();
        _view?.Dispose();
        _map?.Dispose();
    }

    EncoderKitException Bad(string problem, string? field = null) => new(ErrorKind.BadCheckpoint, problem, file: _path, field: field);

    void Load(long length)
    {
        Dictionary<string, ZipEntry> zip = ReadCentralDirectory(length);
        string[] pickles = zip.Keys.Where(k => k == "data.pkl" || k.EndsWith("/data.pkl", StringComparison.Ordinal)).ToArray();
        if (pickles.Length != 1)
            throw Bad(pickles.Length == 0 ? "a zip without data.pkl: not a PyTorch checkpoint"
                : $"{pickles.Length} data.pkl records; expected one");
        string prefix = pickles[0][..^"data.pkl".Length];
        if (zip.TryGetValue(prefix + "byteorder", out ZipEntry order))
        {
            string byteOrder = Encoding.ASCII.GetString(Read(order, prefix + "byteorder")).Trim();
            if (byteOrder != "little") throw Bad($"stored {byteOrder}-endian; only little-endian checkpoints are read", "byteorder");
        }

        object? root = RestrictedUnpickler.Load(Read(zip[pickles[0]], pickles[0]), $"{_path}: {pickles[0]}");
        if (root is not PickleDict dict) throw Bad("data.pkl holds no state dict (a dict of tensors)", "data.pkl");

        var storages = new Dictionary<string, (ZipEntry Zip, byte[]? Inflated)>(StringComparer.Ordinal);
        foreach ((object? key, object? value) in dict.Items)
        {
            if (key is not string name) throw Bad("a state dict key that is not a string", "data.pkl");
            if (value is not TensorRef tensor) throw Bad("value is not a tensor", name);
            if (_tensors.ContainsKey(name)) throw Bad("tensor named twice", name);

            string record = prefix + "data/" + tensor.Storage.Key;
            if (!storages.TryGetValue(tensor.Storage.Key, out var storage))
            {
                if (!zip.TryGetValue(record, out ZipEntry z)) throw Bad($"its storage record {record} is missing", name);
                storage = (z, z.Method == 0 ? null : Read(z, record));
                storages[tensor.Storage.Key] = storage;
            }
            _tensors[name] = Place(name, tensor, storage.Zip, storage.Inflated);
            _order.Add(_tensors[name].Info);
        }
    }

    /// <summary>Checks a view against its storage and finds its bytes, copying only a view that is not contiguous.</summary>
    Entry Place(string name, TensorRef t, ZipEntry record, byte[]? inflated)
    {
        int size = ElementSize(t.Storage.Dtype);
        long storageBytes = inflated?.LongLength ?? record.Size;
        long count = 1, last = t.Offset;
        try
        {
            checked
            {
                if (t.Storage.Numel * size > storageBytes)
                    throw Bad($"storage {t.Storage.Key} claims {t.Storage.Numel} elements; its record has {storageBytes} bytes", name);
                for (int i = 0; i < t.Shape.Length; i++)
                {
                    if (t.Shape[i] < 0 || t.Stride[i] < 0) throw Bad($"negative size or stride ({t.Shape[i]}, {t.Stride[i]})", name);
                    count *= t.Shape[i];
                    if (t.Shape[i] > 0) last += (t.Shape[i] - 1) * t.Stride[i];
                }
                if (t.Offset < 0 || count > 0 && last >= t.Storage.Numel)
                    throw Bad($"the view (offset {t.Offset}, shape [{string.Join(", ", t.Shape)}], stride [{string.Join(", ", t.Stride)}]) "
                              + $"reaches past its storage of {t.Storage.Numel} elements", name);
            }
        }
        catch (OverflowException)
        {
            throw Bad("shape or stride too large", name);
        }

        var info = new TensorInfo(name, t.Storage.Dtype, t.Shape, _path);
        long byteLength = count * size;
        if (IsContiguous(t.Shape, t.Stride) || count == 0)
        {
            long start = t.Offset * size;
            if (inflated is not null) return new Entry(info, 0, byteLength, inflated.AsSpan((int)start, (int)byteLength).ToArray());
            return new Entry(info, record.DataOffset + start, byteLength, null);
        }

        // Gather a strided view into row-major order, one element at a time.
        if (byteLength > Array.MaxLength) throw Bad("a strided view too large to copy", name);
        var copy = new byte[byteLength];
        ReadOnlySpan<byte> source = inflated ?? new ReadOnlySpan<byte>(_base + record.DataOffset, (int)Math.Min(storageBytes, int.MaxValue));
        var index = new long[t.Shape.Length];
        long element = t.Offset;
        for (long n = 0; n < count; n++)
        {
            source.Slice((int)(element * size), size).CopyTo(copy.AsSpan((int)(n * size), size));
            for (int d = index.Length - 1; d >= 0; d--)
            {
                element += t.Stride[d];
                if (++index[d] < t.Shape[d]) break;
                element -= t.Stride[d] * t.Shape[d];
                index[d] = 0;
            }
        }
        return new Entry(info, 0, byteLength, copy);
    }

    static bool IsContiguous(long[] shape, long[] stride)
    {
        long expected = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] != 1 && stride[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    internal static int ElementSize(TensorDtype dtype) => dtype switch
    {
        TensorDtype.F64 or TensorDtype.I64 => 8,
        TensorDtype.F32 or TensorDtype.I32 => 4,
        TensorDtype.F16 or TensorDtype.BF16 or TensorDtype.I16 => 2,
        _ => 1,
    };

    /// <summary>A record's bytes, inflated if it is compressed (torch stores them uncompressed).</summary>
    byte[] Read(ZipEntry entry, string name)
    {
        if (entry.Size > Array.MaxLength) throw Bad("record too large to read whole", name);
        if (entry.Method == 0) return new ReadOnlySpan<byte>(_base + entry.DataOffset, (int)entry.Size).ToArray();
        using var inflate = new DeflateStream(new UnmanagedMemoryStream(_base + entry.DataOffset, entry.CompressedSize), CompressionMode.Decompress);
        var bytes = new byte[entry.Size];
        int done = 0, n;
        while (done < bytes.Length && (n = inflate.Read(bytes, done, bytes.Length - done)) > 0) done += n;
        if (done != bytes.Length) throw Bad($"compressed record inflates to {done} bytes, not {bytes.Length}", name);
        return bytes;
    }

    // ---- the zip container: end of central directory (and its zip64 form), central directory, local headers ----

    uint U32(long at, long length) => at >= 0 && at + 4 <= length ? BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(_base + at, 4)) : throw Bad("zip structure out of bounds");
    ushort U16(long at, long length) => at >= 0 && at + 2 <= length ? BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(_base + at, 2)) : throw Bad("zip structure out of bounds");
    ulong U64(long at, long length) => at >= 0 && at + 8 <= length ? BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(_base + at, 8)) : throw Bad("zip structure out of bounds");

    Dictionary<string, ZipEntry> ReadCentralDirectory(long length)
    {
        long eocd = -1;
        for (long i = length - 22; i >= Math.Max(0, length - 22 - 65535); i--)
            if (U32(i, length) == 0x06054b50) { eocd = i; break; }
        if (eocd < 0)
            throw Bad(_base[0] == 0x80
                ? "a PyTorch checkpoint in the format before 1.6 (a bare pickle stream), which is not read; re-save it with torch.save or convert it to safetensors"
                : "not a zip archive, so not a PyTorch checkpoint");

        ulong count = U16(eocd + 10, length), cdOffset = U32(eocd + 16, length);
        if (count == 0xFFFF || cdOffset == 0xFFFFFFFF)
        {
            long locator = eocd - 20;
            if (U32(locator, length) != 0x07064b50) throw Bad("zip64 end record locator missing");
            long zip64 = (long)Math.Min(U64(locator + 8, length), (ulong)length);
            if (U32(zip64, length) != 0x06064b50) throw Bad("zip64 end record missing");
            count = U64(zip64 + 32, length);
            cdOffset = U64(zip64 + 48, length);
        }
        if (cdOffset >= (ulong)length || count > (ulong)length / 46) throw Bad("zip central directory out of bounds");

        var entries = new Dictionary<string, ZipEntry>(StringComparer.Ordinal);
        long at = (long)cdOffset;
        for (ulong e = 0; e < count; e++)
        {
            if (U32(at, length) != 0x02014b50) throw Bad("zip central directory entry damaged");
            int flags = U16(at + 8, length), method = U16(at + 10, length);
            ulong compressed = U32(at + 20, length), size = U32(at + 24, length), local = U32(at + 42, length);
            int nameLength = U16(at + 28, length), extraLength = U16(at + 30, length), commentLength = U16(at + 32, length);
            if (at + 46 + nameLength + extraLength > length) throw Bad("zip central directory out of bounds");
            string name = Encoding.UTF8.GetString(new ReadOnlySpan<byte>(_base + at + 46, nameLength));

            // zip64: the sizes and offset that did not fit are in the extra field 0x0001, in this order.
            for (long x = at + 46 + nameLength, end = x + extraLength; x + 4 <= end;)
            {
                int id = U16(x, length), len = U16(x + 2, length);
                if (id == 0x0001)
                {
                    long v = x + 4;
                    if (size == 0xFFFFFFFF) { size = U64(v, length); v += 8; }
                    if (compressed == 0xFFFFFFFF) { compressed = U64(v, length); v += 8; }
                    if (local == 0xFFFFFFFF) local = U64(v, length);
                }
                x += 4 + len;
            }
            if ((flags & 1) != 0) throw Bad("encrypted zip records are not read", name);
            if (method is not (0 or 8)) throw Bad($"zip compression method {method} is not read", name);
            if (local >= (ulong)length || U32((long)local, length) != 0x04034b50) throw Bad("zip local header damaged", name);
            long data = (long)local + 30 + U16((long)local + 26, length) + U16((long)local + 28, length);
            if (compressed > (ulong)length || data + (long)compressed > length || method == 0 && compressed != size)
                throw Bad("zip record out of bounds", name);
            entries[name] = new ZipEntry(data, (long)compressed, (long)size, method);
            at += 46 + nameLength + extraLength + commentLength;
        }
        return entries;
    }
}
