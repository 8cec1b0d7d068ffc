using System.Runtime.InteropServices;
using EncoderKit.IO;
using static EncoderKit.Tests.IO.TestFiles;

namespace EncoderKit.Tests.IO;

/// <summary>
/// Opening hand-made files: good ones read back exactly, and each kind of damage is a BadCheckpoint that
/// says what is wrong and, where one tensor is at fault, names it.
/// </summary>
public sealed class SafetensorsFileTests : IDisposable
{
    readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void ReadsNamesDtypesShapesMetadataAndBytes()
    {
        string path = temp.File("good.safetensors");
        SafetensorsWriter.Write(path,
            [Counting("weight", TensorDtype.F32, 2, 3), Counting("ids", TensorDtype.I64, 2), Counting("flag", TensorDtype.BOOL)],
            new Dictionary<string, string> { ["format"] = "pt" });

        using var file = SafetensorsFile.Open(path);

        Assert.Equal(["ids", "weight", "flag"], file.Tensors.Select(t => t.Name));
        Assert.True(file.TryGet("weight", out TensorInfo? weight));
        Assert.Equal((TensorDtype.F32, path, 24L), (weight.Dtype, weight.File, weight.ByteCount));
        Assert.Equal(new long[] { 2, 3 }, weight.Shape);
        Assert.True(file.TryGet("flag", out TensorInfo? flag));
        Assert.Empty(flag.Shape);
        Assert.Equal(Counting("weight", TensorDtype.F32, 2, 3).Data.ToArray(), file.Bytes("weight").ToArray());
        Assert.Equal(Counting("ids", TensorDtype.I64, 2).Data.ToArray(), file.Bytes("ids").ToArray());
        Assert.Equal(new byte[] { 0 }, file.Bytes("flag").ToArray());
        Assert.Equal("pt", file.Metadata!["format"]);
        Assert.False(file.TryGet("missing", out _));
    }

    [Fact]
    public unsafe void BytesAndWindowsAreTheMappingItself()
    {
        string path = temp.File("good.safetensors");
        SafetensorsWriter.Write(path, [Counting("a", TensorDtype.F32, 4), Counting("b", TensorDtype.F32, 2)]);
        using var file = SafetensorsFile.Open(path);

        fixed (byte* a = file.Bytes("a"), b = file.Bytes("b"), window = file.Bytes("b", 4, 4))
        {
            Assert.True(b == a + 16);
            Assert.True(window == b + 4);
        }
    }

    [Fact]
    public void EmptyTensorsAndAFileWithoutTensorsOpen()
    {
        string path = temp.File("empty.safetensors");
        SafetensorsWriter.Write(path, [Counting("none", TensorDtype.F32, 0, 5), Counting("also_none", TensorDtype.I8, 3, 0)]);
        using (var file = SafetensorsFile.Open(path))
        {
            Assert.Equal(0, file.Bytes("none").Length);
            Assert.Equal(new long[] { 3, 0 }, file.Tensors.Single(t => t.Name == "also_none").Shape);
        }

        File.WriteAllBytes(path, Raw("{}      ", 0));
        using var nothing = SafetensorsFile.Open(path);
        Assert.Empty(nothing.Tensors);
        Assert.Null(nothing.Metadata);
    }

    [Fact]
    public void UnknownTensorNameIsNamed()
    {
        string path = temp.File("good.safetensors");
        SafetensorsWriter.Write(path, [Counting("a", TensorDtype.F32, 1)]);
        using var file = SafetensorsFile.Open(path);

        Fails(ErrorKind.BadCheckpoint, () => file.Bytes("encoder.missing"), "no tensor of this name", field: "encoder.missing");
    }

    [Fact]
    public void MissingFileIsMissingFile()
    {
        Fails(ErrorKind.MissingFile, () => SafetensorsFile.Open(temp.File("absent.safetensors")), "file not found");
        Fails(ErrorKind.MissingFile, () => SafetensorsFile.Open(temp.File("no-folder/absent.safetensors")), "file not found");
    }

    [Fact]
    public void FileShorterThanTheLengthPrefix() =>
        AssertOpenFails([1, 0, 0, 0, 0], "5 bytes long, too short");

    [Fact]
    public void FileCutInsideTheHeader()
    {
        byte[] whole = Raw("{" + Entry("a", "F32", "[2]", "[0,8]") + "}", 8);
        AssertOpenFails(whole[..20], "runs past the end of the file (20 bytes)");
    }

    [Fact]
    public void HeaderLengthLargerThanTheFile() =>
        AssertOpenFails(Raw("{}"u8.ToArray(), 0, claimedHeaderLength: 4096), "header length 4096 runs past the end of the file");

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(ulong.MaxValue)]
    public void HeaderLengthOverTheCap(ulong claimed) =>
        AssertOpenFails(Raw("{}"u8.ToArray(), 0, claimedHeaderLength: claimed), $"header length {claimed} exceeds the 100000000-byte limit");

    [Fact]
    public void FileCutInsideTheData()
    {
        byte[] whole = Raw("{" + Entry("a", "F32", "[2]", "[0,8]") + "," + Entry("b", "F32", "[2]", "[8,16]") + "}", 16);
        AssertOpenFails(whole[..^3], "run past the end of the data section (13 bytes); the file is truncated", field: "b");
    }

    [Fact]
    public void HeaderThatIsNotUtf8() =>
        AssertOpenFails(Raw([(byte)'{', 0xC3, 0x28, (byte)'}'], 0), "header is not valid UTF-8");

    [Theory]
    // header JSON, data bytes, what the problem says, the tensor or field it names (null: the file as a whole)
    [InlineData("{\"a\":", 0, "header is not valid JSON", null)]
    [InlineData("{\"a\":{}} trailing", 0, "header is not valid JSON", null)]
    [InlineData("[1,2]", 0, "header is a JSON array, expected an object", null)]
    [InlineData("{\"a\":[]}", 0, "entry is a JSON array, expected an object", "a")]
    [InlineData("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "entry has no \"dtype\"", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "entry has no \"shape\"", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "entry has no \"data_offsets\"", "a")]
    [InlineData("{\"a\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype is a JSON number, expected a string", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, "unsupported dtype \"F8_E4M3\"", "a")]
    [InlineData("{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype \"f32\"", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8, "shape \"2\" is not a list of integers", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "shape [2.0] is not a list of integers", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2,-1],\"data_offsets\":[0,8]}}", 8, "shape [-2, -1] has a negative dimension", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}", 8, "data_offsets [8] is not a pair of non-negative integers", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, "data_offsets [-8,0] is not a pair", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8, "data_offsets [8, 0] end before they begin", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20, "shape [2, 3] of F32 needs 24 bytes, but data_offsets [0, 20] hold 20", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, "byte size overflows", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 16, "data_offsets [0, 24] run past the end of the data section (16 bytes)", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "data_offsets [4, 12] overlap those of a [0, 8]", "b")]
    [InlineData("{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "overlap those of a [0, 8]", "b")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20, "data_offsets [12, 20] leave a gap: the tensors before it end at 8", "b")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "leave a gap: the tensors before it end at 0", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "the tensors end at byte 8 of the data section, but it holds 12 bytes", null)]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "appears twice in the header", "a")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "field \"dtype\" appears twice", "a")]
    [InlineData("{\"__metadata__\":[\"pt\"]}", 0, "is a JSON array, expected an object of strings", "__metadata__")]
    [InlineData("{\"__metadata__\":{\"format\":1}}", 0, "value of \"format\" is a JSON number, expected a string", "__metadata__")]
    public void MalformedHeader(string header, int dataLength, string problem, string? field) =>
        AssertOpenFails(Raw(header, dataLength), problem, field);

    [Fact]
    public void ExtraFieldsInAnEntryAreIgnoredAsPythonIgnoresThem()
    {
        string path = temp.File("extra.safetensors");
        File.WriteAllBytes(path, Raw("{\"a\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2],\"note\":\"x\"}}", 2));

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(2, file.Bytes("a").Length);
    }

    // A sparse 3 GiB file: opening it must allocate next to nothing, and the tail of the tensor, past the
    // reach of a span, must still be readable through a window.
    [Fact]
    public unsafe void MultiGigabyteFileIsMappedNotRead()
    {
        const long size = 3L << 30;
        string path = temp.File("big.safetensors");
        byte[] head = Raw("{" + Entry("big", "U8", $"[{size}]", $"[0,{size}]") + "}", 0);
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            stream.Write(head);
            stream.SetLength(head.Length + size);
            stream.Position = head.Length + size - 1;
            stream.WriteByte(0x5A);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        using var file = SafetensorsFile.Open(path);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 1 << 20, $"opening allocated {allocated} bytes");
        Assert.Equal(size, file.Tensors.Single().ByteCount);
        Assert.Throws<NotSupportedException>(() => file.Bytes("big"));
        Assert.Equal(0x5A, file.Bytes("big", size - 1, 1)[0]);
    }

    [Fact]
    public void DisposedFileRefusesReads()
    {
        string path = temp.File("good.safetensors");
        SafetensorsWriter.Write(path, [Counting("a", TensorDtype.F32, 1)]);
        var file = SafetensorsFile.Open(path);
        file.Dispose();
        file.Dispose();

        Assert.Throws<ObjectDisposedException>(() => file.Bytes("a"));
    }

    void AssertOpenFails(byte[] bytes, string problem, string? field = null)
    {
        string path = temp.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        EncoderKitException error = Fails(ErrorKind.BadCheckpoint, () => SafetensorsFile.Open(path).Dispose(), problem, field);
        Assert.Equal(path, error.File);
        Assert.Equal(field, error.Field);
    }
}
