using System.Buffers.Binary;
using System.Text;
using EncoderKit.IO;

namespace EncoderKit.Tests.IO;

/// <summary>Builders for test tensors and for hand-made (possibly malformed) safetensors bytes.</summary>
public static class TestFiles
{
    /// <summary>A tensor whose bytes are 0, 1, 2, ... so misplaced bytes show.</summary>
    public static TensorData Counting(string name, TensorDtype dtype, params long[] shape)
    {
        long count = shape.Aggregate(1L, (n, d) => n * d) * dtype.Size();
        return new TensorData(name, dtype, shape, Enumerable.Range(0, (int)count).Select(i => (byte)i).ToArray());
    }

    /// <summary>8-byte little-endian length, the header text exactly as given, then <paramref name="dataLength"/> zero bytes.</summary>
    public static byte[] Raw(string header, long dataLength) => Raw(Encoding.UTF8.GetBytes(header), dataLength);

    public static byte[] Raw(byte[] header, long dataLength, ulong? claimedHeaderLength = null)
    {
        byte[] file = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(file, claimedHeaderLength ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        return file;
    }

    /// <summary>A one-entry header: {"name":{"dtype":..,"shape":..,"data_offsets":..}}.</summary>
    public static string Entry(string name, string dtype, string shape, string offsets) =>
        $"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}}";

    /// <summary>Rewrites the safetensors file at <paramref name="path"/> with <paramref name="change"/> applied to its tensors, read in file order.</summary>
    public static void RewriteTensors(string path, Func<IEnumerable<TensorData>, IEnumerable<TensorData>> change)
    {
        List<TensorData> tensors;
        using (var file = SafetensorsFile.Open(path))
            tensors = change(file.Tensors.Select(t => new TensorData(t.Name, t.Dtype, t.Shape, file.Bytes(t.Name).ToArray()))).ToList();
        SafetensorsWriter.Write(path, tensors);
    }

    public static EncoderKitException Fails(ErrorKind kind, Action action, string problem, string? field = null)
    {
        var error = Assert.Throws<EncoderKitException>(action);
        Assert.Equal(kind, error.Kind);
        Assert.Contains(problem, error.Problem);
        if (field is not null) Assert.Equal(field, error.Field);
        return error;
    }
}
