using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.Engine;

/// <summary>Moves tensors between stored bytes (safetensors) and libtorch.</summary>
public static class TorchTensors
{
    /// <summary>A CPU tensor holding a copy of the stored tensor <paramref name="name"/>, in its stored dtype.</summary>
    public static Tensor Read(ITensorSource source, string name)
    {
        if (!source.TryGet(name, out TensorInfo? info))
            throw new EncoderKitException(ErrorKind.BadInput, "tensor not found", source.Tensors.FirstOrDefault()?.File, name);
        Tensor result = empty(info.Shape, ToScalarType(info.Dtype));
        CopyInto(result, source.Bytes(name));
        return result;
    }

    /// <summary>The tensor's bytes as safetensors stores them (contiguous, little-endian, on the CPU).</summary>
    public static (TensorDtype Dtype, long[] Shape, byte[] Data) ToStored(Tensor tensor)
    {
        using Tensor cpu = tensor.to(CPU).contiguous();
        return (ToTensorDtype(cpu.dtype), cpu.shape, cpu.bytes.ToArray());
    }

    // Tensor.bytes is an int-sized span: copy tensors above 1 GiB in row blocks.
    public static void CopyInto(Tensor destination, ReadOnlySpan<byte> source)
    {
        const long block = 1L << 30;
        if (source.Length <= block || destination.dim() == 0)
        {
            source.CopyTo(destination.bytes);
            return;
        }
        long rows = destination.shape[0], rowBytes = source.Length / rows, rowsPerBlock = Math.Max(1, block / rowBytes);
        for (long r = 0; r < rows; r += rowsPerBlock)
        {
            long n = Math.Min(rowsPerBlock, rows - r);
            using Tensor window = destination.narrow(0, r, n);
            source.Slice((int)(r * rowBytes), (int)(n * rowBytes)).CopyTo(window.bytes);
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
