using System.Text.Json;
using EncoderKit.IO;

namespace EncoderKit.Tests.IO;

/// <summary>
/// The reference fixtures, written by Python's safetensors: every one opens, agrees with its meta.json,
/// and comes back byte for byte when written again, the strongest sign that Python reads our files as its own.
/// </summary>
public sealed class SafetensorsFixtureTests
{
    static string ModelsRoot => Path.Combine(ReferenceData.Root, "models");

    public static TheoryData<string> FixtureFiles() =>
        new(Directory.GetFiles(ModelsRoot, "*.safetensors", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(ModelsRoot, f))
            .Order(StringComparer.Ordinal));

    public static TheoryData<string> Families() =>
        new(Directory.GetDirectories(ModelsRoot)
            .Where(d => File.Exists(Path.Combine(d, "meta.json")))
            .Select(d => Path.GetFileName(d))
            .Order(StringComparer.Ordinal));

    [Theory, MemberData(nameof(FixtureFiles))]
    public void FixtureOpensAndEveryTensorSpansItsBytes(string fixture)
    {
        using var file = SafetensorsFile.Open(Path.Combine(ModelsRoot, fixture));

        Assert.NotEmpty(file.Tensors);
        foreach (TensorInfo tensor in file.Tensors)
        {
            Assert.True(file.TryGet(tensor.Name, out TensorInfo? found));
            Assert.Same(tensor, found);
            Assert.Equal(tensor.ByteCount, file.Bytes(tensor.Name).Length);
        }
    }

    [Theory, MemberData(nameof(FixtureFiles))]
    public void WritingAFixtureBackGivesTheSameBytes(string fixture)
    {
        string original = Path.Combine(ModelsRoot, fixture);
        using var temp = new TempFolder();
        string copy = temp.File("copy.safetensors");

        using (var file = SafetensorsFile.Open(original))
        {
            // Reversed, so only the writer's own ordering can put the tensors back where Python put them.
            SafetensorsWriter.Write(copy,
                file.Tensors.Reverse().Select(t => new TensorData(t.Name, t.Dtype, t.Shape, file.Bytes(t.Name).ToArray())),
                file.Metadata);
        }

        Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(copy));
    }

    [Theory, MemberData(nameof(Families))]
    public void ModelWeightsAreTheOnesMetaJsonLists(string family)
    {
        JsonElement weights = Meta(family).GetProperty("weights");
        string path = Path.Combine(ModelsRoot, family, weights.GetProperty("file").GetString()!);
        using var file = SafetensorsFile.Open(path);

        Assert.Equal(
            weights.GetProperty("tensor_names").EnumerateArray().Select(n => n.GetString()!).Order(StringComparer.Ordinal),
            file.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Equal(
            weights.GetProperty("dtypes").EnumerateArray().Select(d => FromTorch(d.GetString()!)).Order(),
            file.Tensors.Select(t => t.Dtype).Distinct().Order());
        Assert.Equal(weights.GetProperty("bytes").GetInt64(), new FileInfo(path).Length);
        Assert.Equal("pt", file.Metadata?["format"]);
    }

    [Theory, MemberData(nameof(Families))]
    public void InputIdsAreMetaJsonsTokenIdsRightPadded(string family)
    {
        // Multiple-choice fixtures nest their rows as [B, C, L]; their inputs hold B × C rows of one length.
        JsonElement tokenIds = Meta(family).GetProperty("input_token_ids");
        bool nested = tokenIds[0][0].ValueKind == JsonValueKind.Array;
        long[][] rows = (nested ? tokenIds.EnumerateArray().SelectMany(b => b.EnumerateArray()) : tokenIds.EnumerateArray())
            .Select(r => r.EnumerateArray().Select(id => id.GetInt64()).ToArray()).ToArray();
        int length = rows.Max(r => r.Length);
        using var inputs = SafetensorsFile.Open(Path.Combine(ModelsRoot, family, "inputs.safetensors"));

        Assert.True(inputs.TryGet("input_ids", out TensorInfo? ids));
        Assert.Equal(TensorDtype.I64, ids.Dtype);
        long[] rowsShape = nested ? [tokenIds.GetArrayLength(), tokenIds[0].GetArrayLength(), length] : [rows.Length, length];
        Assert.Equal(rowsShape, ids.Shape);
        long[] storedIds = Int64s(inputs, "input_ids");
        long[] mask = Int64s(inputs, "attention_mask");
        for (int r = 0; r < rows.Length; r++)
        {
            Assert.Equal(rows[r], storedIds.AsSpan(r * length, rows[r].Length).ToArray());
            Assert.Equal(rows[r].Length, mask.AsSpan(r * length, length).ToArray().Sum());
        }
    }

    // meta.json describes the stored MLM outputs as e.g. "int64 [B, 4]: ..." (B batch, L length, V vocabulary).
    [Theory, MemberData(nameof(Families))]
    public void ExpectedOutputsHaveTheLayoutMetaJsonDescribes(string family)
    {
        JsonElement meta = Meta(family);
        if (!meta.TryGetProperty("mlm_logits_storage", out JsonElement storage) || storage.ValueKind != JsonValueKind.Object) return;
        long[] full = storage.GetProperty("full_logits_shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var letters = new Dictionary<string, long> { ["B"] = full[0], ["L"] = full[1], ["V"] = full[2] };
        using var expected = SafetensorsFile.Open(Path.Combine(ModelsRoot, family, "expected.safetensors"));

        foreach (JsonProperty entry in storage.EnumerateObject().Where(e => e.Value.ValueKind == JsonValueKind.String))
        {
            string layout = entry.Value.GetString()!.Split(':')[0];          // "int64 [B, 4]"
            string[] parts = layout.Split(' ', 2);
            long[] shape = parts[1].Trim('[', ']').Split(", ")
                .Select(d => letters.TryGetValue(d, out long n) ? n : long.Parse(d)).ToArray();

            Assert.True(expected.TryGet(entry.Name, out TensorInfo? tensor), entry.Name);
            Assert.Equal(FromTorch(parts[0]), tensor.Dtype);
            Assert.Equal(shape, tensor.Shape);
        }
    }

    static JsonElement Meta(string family) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ModelsRoot, family, "meta.json"))).RootElement;

    static long[] Int64s(SafetensorsFile file, string name) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(file.Bytes(name)).ToArray();

    static TensorDtype FromTorch(string torchName) => torchName switch
    {
        "float64" => TensorDtype.F64,
        "float32" => TensorDtype.F32,
        "float16" => TensorDtype.F16,
        "bfloat16" => TensorDtype.BF16,
        "int64" => TensorDtype.I64,
        "int32" => TensorDtype.I32,
        "int16" => TensorDtype.I16,
        "int8" => TensorDtype.I8,
        "uint8" => TensorDtype.U8,
        "bool" => TensorDtype.BOOL,
        _ => throw new ArgumentException($"unknown torch dtype {torchName}"),
    };
}
