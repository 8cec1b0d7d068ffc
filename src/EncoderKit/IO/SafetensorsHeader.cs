using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;

namespace EncoderKit.IO;

/// <summary>Where one tensor's bytes lie inside the data section (offsets relative to its start).</summary>
internal readonly record struct StoredTensor(TensorInfo Info, long Begin, long End);

/// <summary>
/// The header of a safetensors file, read and checked before anything trusts it.
/// </summary>
/// <remarks>
/// Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data section.
/// The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional
/// "__metadata__" object of strings. The checks are those of the reference Rust implementation
/// (huggingface/safetensors, <c>SafeTensors::read_metadata</c> and <c>Metadata::validate</c>), so a file
/// that opens here is one Python opens too: N at most 100,000,000; the tensors, ordered by offset, tile
/// the data section exactly (no gap, no overlap, nothing after the last one); each tensor's byte span
/// equals its element count times its element size. Beyond the reference, a name given twice is an error
/// rather than last-one-wins.
/// </remarks>
internal sealed class SafetensorsHeader
{
    public const long MaxLength = 100_000_000;
    public const string MetadataKey = "__metadata__";
    const int LengthPrefix = sizeof(ulong);

    SafetensorsHeader(long dataStart, List<StoredTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        DataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>File offset of the data section.</summary>
    public long DataStart { get; }

    /// <summary>The tensors in data-section order.</summary>
    public IReadOnlyList<StoredTensor> Tensors { get; }

    /// <summary>The "__metadata__" entries in file order, or null when the header has none.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; }

    /// <summary>Reads the header from the start of <paramref name="file"/>; throws BadCheckpoint naming the problem.</summary>
    public static SafetensorsHeader Read(Stream stream, string file)
    {
        long fileLength = stream.Length;
        if (fileLength < LengthPrefix)
            throw Bad($"file is {fileLength} bytes long, too short for the 8-byte header length", file);

        Span<byte> prefix = stackalloc byte[LengthPrefix];
        stream.ReadExactly(prefix);
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (length > MaxLength)
            throw Bad($"header length {length} exceeds the {MaxLength}-byte limit; the file is corrupt or not safetensors", file);
        if ((long)length > fileLength - LengthPrefix)
            throw Bad($"header length {length} runs past the end of the file ({fileLength} bytes); the file is truncated or not safetensors", file);

        byte[] json = new byte[length];
        stream.ReadExactly(json);
        long dataStart = LengthPrefix + (long)length;
        return Parse(json, dataStart, fileLength - dataStart, file);
    }

    static SafetensorsHeader Parse(byte[] json, long dataStart, long dataLength, string file)
    {
        if (!Utf8.IsValid(json)) throw Bad("header is not valid UTF-8", file);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw Bad($"header is not valid JSON: {e.Message}", file);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad($"header is a JSON {Describe(root.ValueKind)}, expected an object", file);

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var tensors = new List<StoredTensor>();
            OrderedDictionary<string, string>? metadata = null;
            foreach (JsonProperty entry in root.EnumerateObject())
            {
                if (!seen.Add(entry.Name)) throw Bad("appears twice in the header", file, entry.Name);
                if (entry.Name == MetadataKey) metadata = ReadMetadata(entry.Value, file);
                else tensors.Add(ReadTensor(entry.Name, entry.Value, dataLength, file));
            }
            CheckTiling(tensors, dataLength, file);
            return new SafetensorsHeader(dataStart, tensors, metadata);
        }
    }

    static OrderedDictionary<string, string> ReadMetadata(JsonElement value, string file)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad($"is a JSON {Describe(value.ValueKind)}, expected an object of strings", file, MetadataKey);
        var metadata = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (JsonProperty item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Bad($"value of \"{item.Name}\" is a JSON {Describe(item.Value.ValueKind)}, expected a string", file, MetadataKey);
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw Bad($"key \"{item.Name}\" appears twice", file, MetadataKey);
        }
        return metadata;
    }

    static StoredTensor ReadTensor(string name, JsonElement entry, long dataLength, string file)
    {
        if (entry.ValueKind != JsonValueKind.Object)
            throw Bad($"entry is a JSON {Describe(entry.ValueKind)}, expected an object with dtype, shape and data_offsets", file, name);
        // Fields other than these three are ignored, as the reference implementation ignores them.
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (JsonProperty field in entry.EnumerateObject())
        {
            if (!fields.TryAdd(field.Name, field.Value)) throw Bad($"field \"{field.Name}\" appears twice", file, name);
        }

        JsonElement dtypeField = Require(fields, "dtype", name, file);
        if (dtypeField.ValueKind != JsonValueKind.String)
            throw Bad($"dtype is a JSON {Describe(dtypeField.ValueKind)}, expected a string", file, name);
        string dtypeName = dtypeField.GetString()!;
        if (!TensorDtypes.TryParse(dtypeName, out TensorDtype dtype))
            throw Bad($"unsupported dtype \"{dtypeName}\"; EncoderKit reads {TensorDtypes.Supported}", file, name);

        JsonElement shapeField = Require(fields, "shape", name, file);
        long[] shape = ReadCounts(shapeField)
            ?? throw Bad($"shape {shapeField.GetRawText()} is not a list of integers", file, name);
        if (shape.Any(d => d < 0)) throw Bad($"shape {Format(shape)} has a negative dimension", file, name);

        JsonElement offsetsField = Require(fields, "data_offsets", name, file);
        long[]? offsets = ReadCounts(offsetsField);
        if (offsets is not [var begin, var end] || begin < 0 || end < 0)
            throw Bad($"data_offsets {offsetsField.GetRawText()} is not a pair of non-negative integers [begin, end]", file, name);
        if (end < begin) throw Bad($"data_offsets {Format(offsets)} end before they begin", file, name);

        long size = ByteSize(shape, dtype)
            ?? throw Bad($"shape {Format(shape)} of {dtype} is too large: its byte size overflows", file, name);
        if (end - begin != size)
            throw Bad($"shape {Format(shape)} of {dtype} needs {size} bytes, but data_offsets {Format(offsets)} hold {end - begin}", file, name);
        if (end > dataLength)
            throw Bad($"data_offsets {Format(offsets)} run past the end of the data section ({dataLength} bytes); the file is truncated", file, name);

        return new StoredTensor(new TensorInfo(name, dtype, shape, file), begin, end);
    }

    // Ordered by offset, the tensors must tile [0, dataLength): this is what rules out overlapping tensors,
    // and what the reference requires (its InvalidOffset and MetadataIncompleteBuffer errors).
    static void CheckTiling(List<StoredTensor> tensors, long dataLength, string file)
    {
        tensors.Sort((a, b) => (a.Begin, a.End, a.Info.Name).CompareTo((b.Begin, b.End, b.Info.Name)));
        long covered = 0;
        StoredTensor? previous = null;
        foreach (StoredTensor tensor in tensors)
        {
            string here = $"data_offsets [{tensor.Begin}, {tensor.End}]";
            if (tensor.Begin < covered)
            {
                StoredTensor other = previous!.Value;
                throw Bad($"{here} overlap those of {other.Info.Name} [{other.Begin}, {other.End}]", file, tensor.Info.Name);
            }
            if (tensor.Begin > covered)
                throw Bad($"{here} leave a gap: the tensors before it end at {covered}", file, tensor.Info.Name);
            covered = tensor.End;
            previous = tensor;
        }
        if (covered != dataLength)
            throw Bad($"the tensors end at byte {covered} of the data section, but it holds {dataLength} bytes: unexplained bytes after the last tensor", file);
    }

    static JsonElement Require(Dictionary<string, JsonElement> fields, string field, string name, string file) =>
        fields.TryGetValue(field, out JsonElement value) ? value : throw Bad($"entry has no \"{field}\"", file, name);

    // A JSON array of integers that fit a long, or null. Fractions and exponents are refused, as the
    // reference's integer fields refuse them.
    static long[]? ReadCounts(JsonElement array)
    {
        if (array.ValueKind != JsonValueKind.Array) return null;
        var counts = new long[array.GetArrayLength()];
        int i = 0;
        foreach (JsonElement item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out counts[i++])) return null;
        }
        return counts;
    }

    /// <summary>Element count times element size, or null when that overflows.</summary>
    internal static long? ByteSize(long[] shape, TensorDtype dtype)
    {
        long size = dtype.Size();
        foreach (long d in shape)
        {
            if (d != 0 && size > long.MaxValue / d) return null;
            size *= d;
        }
        return size;
    }

    internal static string Format(long[] values) => "[" + string.Join(", ", values) + "]";

    static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };

    static EncoderKitException Bad(string problem, string file, string? field = null) =>
        new(ErrorKind.BadCheckpoint, problem, file: file, field: field);
}
