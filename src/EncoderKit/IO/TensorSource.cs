using System.Diagnostics.CodeAnalysis;

namespace EncoderKit.IO;

/// <summary>Element types a checkpoint may store, named as safetensors names them.</summary>
public enum TensorDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL }

/// <summary>One stored tensor: its name, element type, shape, and the file it lives in.</summary>
public sealed record TensorInfo(string Name, TensorDtype Dtype, long[] Shape, string File)
{
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);

    public long ByteCount => ElementCount * Dtype.Size();
}

/// <summary>
/// Named tensors read from a checkpoint: one safetensors file, a sharded set, or another format converted
/// on load. Bytes are little-endian, row-major, exactly as stored; the source owns the memory behind them.
/// </summary>
public interface ITensorSource : IDisposable
{
    IReadOnlyCollection<TensorInfo> Tensors { get; }

    bool TryGet(string name, [NotNullWhen(true)] out TensorInfo? info);

    /// <summary>The stored bytes of <paramref name="name"/>; valid until the source is disposed.</summary>
    /// <exception cref="NotSupportedException">The tensor holds more bytes than one span can address (2 GiB); read it in windows.</exception>
    ReadOnlySpan<byte> Bytes(string name);

    /// <summary>
    /// <paramref name="count"/> of <paramref name="name"/>'s stored bytes from byte <paramref name="offset"/>: how a tensor of
    /// any size is read, a window at a time. Valid until the source is disposed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The window reaches outside the tensor's bytes.</exception>
    ReadOnlySpan<byte> Bytes(string name, long offset, int count);
}

internal static class ByteWindow
{
    public static void Check(long offset, int count, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + count, length, nameof(count));
    }
}
