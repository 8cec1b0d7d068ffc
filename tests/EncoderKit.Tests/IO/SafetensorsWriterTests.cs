using System.Buffers;
using System.Text;
using EncoderKit.IO;
using static EncoderKit.Tests.IO.TestFiles;

namespace EncoderKit.Tests.IO;

/// <summary>
/// The writer lays files out exactly as the Rust/Python safetensors library does, and never leaves a
/// half-written file behind.
/// </summary>
public sealed class SafetensorsWriterTests : IDisposable
{
    readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    // The byte vectors of the reference's own serialization tests (safetensors/src/tensor.rs).
    [Fact]
    public void OneTensorIsLaidOutAsTheReferenceLaysItOut()
    {
        byte[] floats = new[] { 0f, 1f, 2f, 3f, 4f, 5f }.SelectMany(BitConverter.GetBytes).ToArray();

        byte[] written = WriteAndRead([new TensorData("attn.0", TensorDtype.F32, [1, 2, 3], floats)]);

        Assert.Equal(Raw("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}", 0)
            .Concat(floats).ToArray(), written);
    }

    [Fact]
    public void HeaderIsPaddedWithSpacesToAMultipleOfEight()
    {
        Assert.Equal(Raw("{}      ", 0), WriteAndRead([]));
        Assert.Equal(Raw("{\"__metadata__\":{\"framework\":\"pt\"}}     ", 0),
            WriteAndRead([], new Dictionary<string, string> { ["framework"] = "pt" }));
        Assert.Equal(Raw("{\"__metadata__\":{}}     ", 0), WriteAndRead([], new Dictionary<string, string>()));
    }

    // Dtype rank follows the reference's Dtype enum, largest first, so I64 precedes F64; names then compare
    // as UTF-8 bytes, which puts U+FF5E before an astral character although UTF-16 order would not.
    [Fact]
    public void TensorsAreOrderedByDtypeThenByUtf8Name()
    {
        TensorDtype[] byRank = [TensorDtype.I64, TensorDtype.F64, TensorDtype.F32, TensorDtype.I32, TensorDtype.BF16,
            TensorDtype.F16, TensorDtype.I16, TensorDtype.I8, TensorDtype.U8, TensorDtype.BOOL];
        string[] namesInOrder = ["B", "a", "b", "é", "\uFF5E", "😀"];
        var tensors = byRank.Reverse().SelectMany(d => namesInOrder.Reverse().Select(n => Counting($"{d}.{n}", d, 3))).ToList();

        string path = temp.File("ordered.safetensors");
        SafetensorsWriter.Write(path, tensors);
        using var file = SafetensorsFile.Open(path);

        Assert.Equal(byRank.SelectMany(d => namesInOrder.Select(n => $"{d}.{n}")), file.Tensors.Select(t => t.Name));
        Assert.Equal(HeaderNamesInTextOrder(path), file.Tensors.Select(t => t.Name));
        foreach (TensorData tensor in tensors) Assert.Equal(tensor.Data.ToArray(), file.Bytes(tensor.Name).ToArray());
    }

    [Fact]
    public void StringsAreEscapedAsSerdeJsonEscapesThem()
    {
        const string name = "q\"b\\s/\n\t\u0001\u007fé😀";
        string path = temp.File("escaped.safetensors");
        SafetensorsWriter.Write(path, [Counting(name, TensorDtype.U8, 1)], new Dictionary<string, string> { ["k\r"] = "\b\f" });

        string header = Encoding.UTF8.GetString(File.ReadAllBytes(path).AsSpan(8));
        Assert.StartsWith("{\"__metadata__\":{\"k\\r\":\"\\b\\f\"},\"q\\\"b\\\\s/\\n\\t\\u0001\u007fé😀\":{", header);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(name, file.Tensors.Single().Name);
        Assert.Equal("\b\f", file.Metadata!["k\r"]);
    }

    [Fact]
    public void MetadataKeepsItsOrderThroughAReadAndAWrite()
    {
        string first = temp.File("first.safetensors"), second = temp.File("second.safetensors");
        var metadata = new OrderedDictionary<string, string> { ["z"] = "1", ["a"] = "2", ["m"] = "3" };
        SafetensorsWriter.Write(first, [Counting("t", TensorDtype.F16, 2)], metadata);

        using (var file = SafetensorsFile.Open(first))
        {
            Assert.Equal(["z", "a", "m"], file.Metadata!.Keys);
            SafetensorsWriter.Write(second, [new TensorData("t", TensorDtype.F16, [2], file.Bytes("t").ToArray())], file.Metadata);
        }
        Assert.Equal(File.ReadAllBytes(first), File.ReadAllBytes(second));
    }

    [Fact]
    public void ScalarAndEmptyTensorsRoundTrip()
    {
        string path = temp.File("shapes.safetensors");
        SafetensorsWriter.Write(path, [Counting("scalar", TensorDtype.F64), Counting("empty", TensorDtype.F64, 0, 7)]);

        using var file = SafetensorsFile.Open(path);
        Assert.True(file.TryGet("scalar", out TensorInfo? scalar));
        Assert.Empty(scalar.Shape);
        Assert.Equal(8, file.Bytes("scalar").Length);
        Assert.Equal(0, file.Bytes("empty").Length);
    }

    [Fact]
    public void DuplicateNamesAreRefusedBeforeAnythingIsWritten() =>
        AssertRefusedAndTargetUntouched([Counting("w", TensorDtype.F32, 2), Counting("w", TensorDtype.I8, 2)],
            "two tensors have this name", "w");

    [Fact]
    public void DataThatDoesNotFitTheShapeIsRefused() =>
        AssertRefusedAndTargetUntouched([new TensorData("w", TensorDtype.F32, [2, 3], new byte[20])],
            "shape [2, 3] of F32 needs 24 bytes, but the data holds 20", "w");

    [Fact]
    public void NegativeDimensionIsRefused() =>
        AssertRefusedAndTargetUntouched([new TensorData("w", TensorDtype.F32, [-1], new byte[4])],
            "shape [-1] has a negative dimension", "w");

    [Fact]
    public void MetadataKeyIsNotATensorName() =>
        AssertRefusedAndTargetUntouched([Counting("__metadata__", TensorDtype.U8, 1)],
            "reserved for the header's metadata", "__metadata__");

    [Fact]
    public void NameThatIsNotUnicodeIsRefused() =>
        AssertRefusedAndTargetUntouched([Counting("bad\uD800", TensorDtype.U8, 1)],
            "tensor name is not valid Unicode", "bad\uD800");

    [Fact]
    public void FailureWhileWritingLeavesTheTargetAsItWas()
    {
        string path = temp.File("model.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var failing = new TensorData("late", TensorDtype.U8, [4], new FailingMemory(4).Memory);

        Assert.Throws<IOException>(() => SafetensorsWriter.Write(path, [Counting("early", TensorDtype.I64, 2), failing]));

        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void StreamedTensorsAreAskedForTheirBytesOnlyOnceTheHeaderIsWritten()
    {
        string path = temp.File("streamed.safetensors");
        TensorData a = Counting("a", TensorDtype.F32, 2, 3), b = Counting("b", TensorDtype.I64, 2);
        var asked = new List<(string Name, long Position)>();
        StreamedTensor Streamed(TensorData t) => new(t.Name, t.Dtype, t.Shape, stream =>
        {
            asked.Add((t.Name, stream.Position));
            stream.Write(t.Data.Span);
        });

        SafetensorsWriter.Write(path, [Streamed(a), Streamed(b)]);

        byte[] expected = WriteAndRead([a, b]);
        Assert.Equal(expected, File.ReadAllBytes(path));
        long dataStart = 8 + (long)BitConverter.ToUInt64(expected);
        Assert.Equal([("b", dataStart), ("a", dataStart + 16)], asked);   // file order: I64 before F32
    }

    [Theory, InlineData(23), InlineData(25)]
    public void AStreamedTensorWritingOtherThanItsSizeFailsTheWholeWrite(int written)
    {
        string path = temp.File("model.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var wrong = new StreamedTensor("w", TensorDtype.F32, [2, 3], stream => stream.Write(new byte[written]));

        Fails(ErrorKind.BadInput, () => SafetensorsWriter.Write(path, [wrong]), $"needs 24 bytes, but {written} were written", "w");

        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void WritingIntoAMissingFolderIsMissingFile() =>
        Fails(ErrorKind.MissingFile, () => SafetensorsWriter.Write(temp.File("absent/model.safetensors"), Array.Empty<TensorData>()), "does not exist");

    void AssertRefusedAndTargetUntouched(TensorData[] tensors, string problem, string field)
    {
        string path = temp.File("model.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);

        EncoderKitException error = Fails(ErrorKind.BadInput, () => SafetensorsWriter.Write(path, tensors), problem, field);

        Assert.Equal(path, error.File);
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(temp.Path));
    }

    byte[] WriteAndRead(TensorData[] tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        string path = temp.File("written.safetensors");
        SafetensorsWriter.Write(path, tensors, metadata);
        return File.ReadAllBytes(path);
    }

    static IEnumerable<string> HeaderNamesInTextOrder(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        using var header = System.Text.Json.JsonDocument.Parse(bytes.AsMemory(8, (int)BitConverter.ToUInt64(bytes)));
        return header.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
    }

    /// <summary>Memory whose bytes cannot be read, like a device copy that fails part-way through a save.</summary>
    sealed class FailingMemory(int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => throw new IOException("device read failed");
        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
        public override Memory<byte> Memory => CreateMemory(length);
    }
}
