using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EncoderKit.IO;

/// <summary>A tensor to write: its name, element type, shape, and little-endian row-major bytes.</summary>
public sealed record TensorData(string Name, TensorDtype Dtype, long[] Shape, ReadOnlyMemory<byte> Data);

/// <summary>
/// A tensor to write whose bytes are produced only when the writer reaches it, so a whole model never has to sit
/// in managed memory at once (e.g. each straight from a native tensor).
/// </summary>
/// <param name="WriteData">Writes exactly the tensor's little-endian row-major bytes to the stream.</param>
public sealed record StreamedTensor(string Name, TensorDtype Dtype, long[] Shape, Action<Stream> WriteData);

/// <summary>
/// Writes safetensors files byte for byte as the Python/Rust <c>safetensors</c> library writes them
/// (<c>safetensors.torch.save_file</c>, which transformers' <c>save_pretrained</c> calls), atomically.
/// </summary>
/// <remarks>
/// The reference's <c>prepare</c> step fixes the layout, and it is followed here exactly:
/// <list type="bullet">
/// <item>Tensors are ordered by dtype, largest first in the reference's <c>Dtype</c> declaration order
/// (I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL: note I64 before F64), then by name in UTF-8 byte order.
/// That one order is used for both the header entries and the data section, which has no gaps.</item>
/// <item>The header is compact JSON (serde_json's <c>to_string</c>): "__metadata__" first when there is
/// metadata, then each tensor as {"dtype","shape","data_offsets"} in that field order; strings escape only
/// '"', '\\' and control characters (\b \t \n \f \r, else \u00xx in lower-case hex), everything else is raw UTF-8.</item>
/// <item>The header is padded with spaces to a multiple of 8 bytes, so data offsets stay 8-byte aligned.</item>
/// </list>
/// Metadata entries are written in the dictionary's enumeration order: the reference keeps them in a
/// hash map, so a Python file with several entries has no fixed order; a file read with
/// <see cref="SafetensorsFile"/> and written back keeps its own.
/// </remarks>
public static class SafetensorsWriter
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>One tensor placed in the data section.</summary>
    sealed record Placed(StreamedTensor Tensor, long Begin, long End);

    /// <summary>
    /// Writes <paramref name="tensors"/> to <paramref name="path"/>, replacing any file there only once the
    /// new one is complete. Bad input (a duplicate name, data that does not fit its shape) is a BadInput
    /// error naming the tensor, raised before anything is written.
    /// </summary>
    public static void Write(string path, IEnumerable<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors.Select(t => (new StreamedTensor(t.Name, t.Dtype, t.Shape, stream => stream.Write(t.Data.Span)), (long?)t.Data.Length)), metadata);

    /// <summary>
    /// Writes the header from the tensors' names, dtypes and shapes, then asks each tensor for its bytes in file order,
    /// replacing any file at <paramref name="path"/> only once the new one is complete. Bad names or shapes are a BadInput
    /// error raised before anything is written; a tensor that writes other than its shape's byte count fails the write.
    /// </summary>
    public static void Write(string path, IEnumerable<StreamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        Write(path, tensors.Select(t => (t, (long?)null)), metadata);

    static void Write(string path, IEnumerable<(StreamedTensor Tensor, long? DataLength)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        List<Placed> placed = Place(tensors, path);
        byte[] header = Header(placed, metadata, path);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[sizeof(ulong)];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (Placed tensor in placed)
            {
                long start = stream.Position;
                tensor.Tensor.WriteData(stream);
                long written = stream.Position - start, expected = tensor.End - tensor.Begin;
                if (written != expected)
                    throw BadInput($"shape {SafetensorsHeader.Format(tensor.Tensor.Shape)} of {tensor.Tensor.Dtype} needs {expected} bytes, but {written} were written", path, tensor.Tensor.Name);
            }
        });
    }

    static List<Placed> Place(IEnumerable<(StreamedTensor Tensor, long? DataLength)> tensors, string path)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var checkedTensors = new List<(StreamedTensor Tensor, long Size, byte[] Utf8Name)>();
        foreach ((StreamedTensor tensor, long? dataLength) in tensors)
        {
            string name = tensor.Name;
            if (name == SafetensorsHeader.MetadataKey)
                throw BadInput("this name is reserved for the header's metadata", path, name);
            if (!names.Add(name)) throw BadInput("two tensors have this name", path, name);
            if (tensor.Shape.Any(d => d < 0))
                throw BadInput($"shape {SafetensorsHeader.Format(tensor.Shape)} has a negative dimension", path, name);
            long size = SafetensorsHeader.ByteSize(tensor.Shape, tensor.Dtype)
                ?? throw BadInput($"shape {SafetensorsHeader.Format(tensor.Shape)} of {tensor.Dtype} is too large: its byte size overflows", path, name);
            if (dataLength is { } length && length != size)
                throw BadInput($"shape {SafetensorsHeader.Format(tensor.Shape)} of {tensor.Dtype} needs {size} bytes, but the data holds {length}", path, name);
            checkedTensors.Add((tensor, size, Utf8(name, "tensor name", path, name)));
        }

        checkedTensors.Sort((a, b) =>
        {
            int byDtype = Rank(b.Tensor.Dtype).CompareTo(Rank(a.Tensor.Dtype));
            return byDtype != 0 ? byDtype : a.Utf8Name.AsSpan().SequenceCompareTo(b.Utf8Name);
        });

        var placed = new List<Placed>(checkedTensors.Count);
        long offset = 0;
        foreach ((StreamedTensor tensor, long size, _) in checkedTensors)
        {
            placed.Add(new Placed(tensor, offset, offset + size));
            offset += size;
        }
        return placed;
    }

    // The position of each dtype in the reference's Dtype enum, whose derived ordering drives its sort.
    static int Rank(TensorDtype dtype) => dtype switch
    {
        TensorDtype.BOOL => 0,
        TensorDtype.U8 => 1,
        TensorDtype.I8 => 2,
        TensorDtype.I16 => 3,
        TensorDtype.F16 => 4,
        TensorDtype.BF16 => 5,
        TensorDtype.I32 => 6,
        TensorDtype.F32 => 7,
        TensorDtype.F64 => 8,
        TensorDtype.I64 => 9,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    static byte[] Header(List<Placed> placed, IReadOnlyDictionary<string, string>? metadata, string path)
    {
        var json = new StringBuilder("{");
        string entrySeparator = "";
        if (metadata is not null)
        {
            AppendString(json, SafetensorsHeader.MetadataKey).Append(":{");
            string separator = "";
            foreach ((string key, string value) in metadata)
            {
                Utf8(key, "metadata key", path, SafetensorsHeader.MetadataKey);
                Utf8(value, $"metadata value of \"{key}\"", path, SafetensorsHeader.MetadataKey);
                AppendString(json.Append(separator), key).Append(':');
                AppendString(json, value);
                separator = ",";
            }
            json.Append('}');
            entrySeparator = ",";
        }
        foreach (Placed tensor in placed)
        {
            AppendString(json.Append(entrySeparator), tensor.Tensor.Name).Append(":{\"dtype\":");
            entrySeparator = ",";
            AppendString(json, tensor.Tensor.Dtype.ToString()).Append(",\"shape\":[");
            json.AppendJoin(',', tensor.Tensor.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            json.Append("],\"data_offsets\":[")
                .Append(tensor.Begin.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(tensor.End.ToString(CultureInfo.InvariantCulture)).Append("]}");
        }
        json.Append('}');

        byte[] bytes = StrictUtf8.GetBytes(json.ToString());
        int padded = (bytes.Length + 7) / 8 * 8;
        if (padded > SafetensorsHeader.MaxLength)
            throw BadInput($"header would be {padded} bytes, over the {SafetensorsHeader.MaxLength}-byte limit readers enforce", path);
        byte[] header = new byte[padded];
        bytes.CopyTo(header, 0);
        header.AsSpan(bytes.Length).Fill((byte)' ');
        return header;
    }

    // serde_json's escaping, which the reference writer uses.
    static StringBuilder AppendString(StringBuilder json, string value)
    {
        json.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\b': json.Append("\\b"); break;
                case '\t': json.Append("\\t"); break;
                case '\n': json.Append("\\n"); break;
                case '\f': json.Append("\\f"); break;
                case '\r': json.Append("\\r"); break;
                case < ' ': json.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
                default: json.Append(c); break;
            }
        }
        return json.Append('"');
    }

    // Names are ordered by their UTF-8 bytes, and a string with a lone surrogate has none.
    static byte[] Utf8(string text, string what, string path, string field)
    {
        try
        {
            return StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException)
        {
            throw BadInput($"{what} is not valid Unicode (it holds a lone surrogate)", path, field);
        }
    }

    static EncoderKitException BadInput(string problem, string path, string? field = null) =>
        new(ErrorKind.BadInput, problem, file: path, field: field);
}
