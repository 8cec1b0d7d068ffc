using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.Compute;

/// <summary>Moves tensors between stored bytes (safetensors) and libtorch.</summary>
public static class TorchTensors
{
    // Tensor.bytes is an int-sized span, so bytes move between spans and native memory in chunks of at most this.
    const long ChunkBytes = 1L << 30;

    /// <summary>A CPU tensor holding a copy of the stored tensor <paramref name="name"/>, in its stored dtype.</summary>
    public static Tensor Read(ITensorSource source, string name)
    {
        if (!source.TryGet(name, out TensorInfo? info))
            throw new EncoderKitException(ErrorKind.BadInput, "tensor not found", source.Tensors.FirstOrDefault()?.File, name);
        Tensor result = empty(info.Shape, ToScalarType(info.Dtype));
        CopyInto(result, source, name);
        return result;
    }

    /// <summary>The tensor's bytes as safetensors stores them (contiguous, little-endian, on the CPU).</summary>
    public static (TensorDtype Dtype, long[] Shape, byte[] Data) ToStored(Tensor tensor)
    {
        using Tensor cpu = tensor.to(CPU).contiguous();
        return (ToTensorDtype(cpu.dtype), cpu.shape, cpu.bytes.ToArray());
    }

    /// <summary>
    /// Copies the stored tensor <paramref name="name"/> into <paramref name="destination"/>, a contiguous CPU tensor of its
    /// dtype and element count, a window at a time: tensors over 2 GiB (large vocabularies' embeddings) copy too.
    /// </summary>
    public static void CopyInto(Tensor destination, ITensorSource source, string name) => CopyInto(destination, source, name, ChunkBytes);

    internal static void CopyInto(Tensor destination, ITensorSource source, string name, long chunkBytes)
    {
        long stored = source.TryGet(name, out TensorInfo? info) ? info.ByteCount : throw new ArgumentException($"no tensor {name} in the source", nameof(name));
        if (destination.NumberOfElements * destination.ElementSize != stored)
            throw new ArgumentException($"{name} holds {stored} bytes, the destination {destination.NumberOfElements * destination.ElementSize}", nameof(destination));
        ForEachChunk(destination, chunkBytes, (offset, window) => source.Bytes(name, offset, window.Length).CopyTo(window));
    }

    /// <summary>
    /// Writes <paramref name="tensor"/>'s bytes (a contiguous CPU tensor) to <paramref name="stream"/> as safetensors stores
    /// them, straight from native memory a window at a time: no managed copy of the tensor is made.
    /// </summary>
    public static void WriteStored(Tensor tensor, Stream stream) => WriteStored(tensor, stream, ChunkBytes);

    internal static void WriteStored(Tensor tensor, Stream stream, long chunkBytes) =>
        ForEachChunk(tensor, chunkBytes, (_, window) => stream.Write(window));

    delegate void ChunkAction(long byteOffset, Span<byte> window);

    static void ForEachChunk(Tensor tensor, long chunkBytes, ChunkAction action)
    {
        if (!tensor.is_contiguous() || tensor.device_type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException("expected a contiguous CPU tensor", nameof(tensor));
        using Tensor flat = tensor.view(-1);
        long elementSize = tensor.ElementSize, count = flat.shape[0], perChunk = Math.Max(1, chunkBytes / elementSize);
        for (long start = 0; start < count; start += perChunk)
        {
            using Tensor window = flat.narrow(0, start, Math.Min(perChunk, count - start));
            action(start * elementSize, window.bytes);
        }
    }

    public static ScalarType ToScalarType(TensorDtype dtype) => dtype switch
    {
        TensorDtype.F64 => ScalarType.Float64,
        TensorDtype.F32 => ScalarType.Float32,
        TensorDtype.F16 => ScalarType.Float16,
        TensorDtype.BF16 => ScalarType.BFloat16,
        TensorDtype.I64 => ScalarType.Int64,
        TensorDtype.I32 => ScalarType.Int32,
        TensorDtype.I16 => ScalarType.Int16,
        TensorDtype.I8 => ScalarType.Int8,
        TensorDtype.U8 => ScalarType.Byte,
        TensorDtype.BOOL => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    public static TensorDtype ToTensorDtype(ScalarType type) => type switch
    {
        ScalarType.Float64 => TensorDtype.F64,
        ScalarType.Float32 => TensorDtype.F32,
        ScalarType.Float16 => TensorDtype.F16,
        ScalarType.BFloat16 => TensorDtype.BF16,
        ScalarType.Int64 => TensorDtype.I64,
        ScalarType.Int32 => TensorDtype.I32,
        ScalarType.Int16 => TensorDtype.I16,
        ScalarType.Int8 => TensorDtype.I8,
        ScalarType.Byte => TensorDtype.U8,
        ScalarType.Bool => TensorDtype.BOOL,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no safetensors dtype for this tensor type"),
    };
}
