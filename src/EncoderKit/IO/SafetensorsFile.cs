using System.Diagnostics.CodeAnalysis;
using System.IO.MemoryMappedFiles;

namespace EncoderKit.IO;

/// <summary>
/// One safetensors file, memory-mapped read-only: opening reads and checks only the header, and tensor
/// bytes are served straight from the mapping, so a multi-GB checkpoint costs address space, not managed memory.
/// </summary>
/// <remarks>
/// Reading tensors from several threads at once is safe; disposing while another thread reads is not.
/// The format and the checks made on open are described on <see cref="SafetensorsHeader"/>.
/// </remarks>
public sealed unsafe class SafetensorsFile : ITensorSource
{
    readonly MemoryMappedFile map;
    readonly MemoryMappedViewAccessor view;
    readonly byte* data;
    readonly Dictionary<string, StoredTensor> byName;
    bool disposed;

    SafetensorsFile(string path, SafetensorsHeader header, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* data)
    {
        Path = path;
        Metadata = header.Metadata;
        Tensors = header.Tensors.Select(t => t.Info).ToArray();
        byName = header.Tensors.ToDictionary(t => t.Info.Name, StringComparer.Ordinal);
        this.map = map;
        this.view = view;
        this.data = data;
    }

    /// <summary>The path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>The header's "__metadata__" entries in file order (transformers writes {"format": "pt"}), or null when absent.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; }

    /// <summary>The stored tensors, in the order of their bytes in the file.</summary>
    public IReadOnlyCollection<TensorInfo> Tensors { get; }

    /// <summary>Maps <paramref name="path"/> and validates its header; any defect is a BadCheckpoint naming it.</summary>
    public static SafetensorsFile Open(string path)
    {
        FileStream stream = UserFile.Read(path, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read));

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            SafetensorsHeader header = SafetensorsHeader.Read(stream, path);
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            return new SafetensorsFile(path, header, map, view, start + view.PointerOffset + header.DataStart);
        }
        catch
        {
            view?.Dispose();
            if (map is null) stream.Dispose();
            else map.Dispose();
            throw;
        }
    }

    public bool TryGet(string name, [NotNullWhen(true)] out TensorInfo? info)
    {
        bool found = byName.TryGetValue(name, out StoredTensor stored);
        info = found ? stored.Info : null;
        return found;
    }

    /// <inheritdoc/>
    public ReadOnlySpan<byte> Bytes(string name)
    {
        StoredTensor tensor = Find(name);
        long length = tensor.End - tensor.Begin;
        if (length > int.MaxValue)
            throw new NotSupportedException($"{name} holds {length} bytes, more than a span can address; read it in windows.");
        return new ReadOnlySpan<byte>(data + tensor.Begin, (int)length);
    }

    /// <inheritdoc/>
    public ReadOnlySpan<byte> Bytes(string name, long offset, int count)
    {
        StoredTensor tensor = Find(name);
        ByteWindow.Check(offset, count, tensor.End - tensor.Begin);
        return new ReadOnlySpan<byte>(data + tensor.Begin + offset, count);
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
        map.Dispose();
    }

    StoredTensor Find(string name)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return byName.TryGetValue(name, out StoredTensor tensor) ? tensor
            : throw new EncoderKitException(ErrorKind.BadCheckpoint, "no tensor of this name in the file", file: Path, field: name);
    }
}
