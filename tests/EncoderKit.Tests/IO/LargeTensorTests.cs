using EncoderKit.Compute;
using EncoderKit.IO;
using static EncoderKit.Tests.IO.TestFiles;
using static TorchSharp.torch;

namespace EncoderKit.Tests.IO;

/// <summary>
/// Tensors larger than one span (2 GiB: large-vocabulary embeddings) move between files and native memory a window at
/// a time. Small windows show every byte lands in its place; windows into a real tensor past 2 GiB reach its far end.
/// </summary>
public sealed class LargeTensorTests : IDisposable
{
    readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    static byte[] BytesOf(Tensor t)
    {
        using Tensor contiguous = t.contiguous();
        return contiguous.bytes.ToArray();
    }

    // 12 bytes is three floats and does not divide a 44-byte row; 5 bytes rounds down to one element per window.
    [Theory, InlineData(12L), InlineData(5L), InlineData(1L << 30)]
    public void CopyingInWindowsPutsEveryByteInItsPlace(long windowBytes)
    {
        string path = temp.File("w.safetensors");
        TensorData stored = Counting("w", TensorDtype.F32, 37, 11);
        SafetensorsWriter.Write(path, [stored]);
        using var file = SafetensorsFile.Open(path);

        // Into the second half of a larger tensor, as stacked q / k / v parts are copied.
        using Tensor destination = zeros([74, 11], ScalarType.Float32);
        using (Tensor half = destination.narrow(0, 37, 37))
            TorchTensors.CopyInto(half, file, "w", windowBytes);

        using Tensor first = destination.narrow(0, 0, 37), second = destination.narrow(0, 37, 37);
        Assert.Equal(stored.Data.ToArray(), BytesOf(second));
        Assert.All(BytesOf(first), b => Assert.Equal(0, b));
    }

    [Theory, InlineData(12L), InlineData(5L), InlineData(1L << 30)]
    public void WritingInWindowsWritesEveryByteInOrder(long windowBytes)
    {
        using Tensor tensor = TensorRange.Arange(37 * 11, ScalarType.BFloat16, CPU).reshape(37, 11);
        using var stream = new MemoryStream();
        TorchTensors.WriteStored(tensor, stream, windowBytes);
        Assert.Equal(BytesOf(tensor), stream.ToArray());
    }

    [Fact]
    public void CopyingIntoATensorOfAnotherSizeIsRefused()
    {
        string path = temp.File("w.safetensors");
        SafetensorsWriter.Write(path, [Counting("w", TensorDtype.F32, 3, 4)]);
        using var file = SafetensorsFile.Open(path);
        using Tensor destination = empty([4, 4], ScalarType.Float32);
        Assert.Throws<ArgumentException>(() => TorchTensors.CopyInto(destination, file, "w"));
    }

    [Theory, InlineData(-1L, 4), InlineData(0L, 49), InlineData(45L, 4), InlineData(0L, -1)]
    public void AWindowOutsideTheTensorIsRefused(long offset, int count)
    {
        string path = temp.File("w.safetensors");
        SafetensorsWriter.Write(path, [Counting("w", TensorDtype.F32, 3, 4)]);
        using var file = SafetensorsFile.Open(path);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.Bytes("w", offset, count).Length);
    }

    // A sparse file holding one U8 tensor past 2 GiB, marked at both ends and on either side of the 2^31 boundary.
    // Copying all of it into a tensor works the same way as the small windows above but takes ~15 s of page faults on
    // a busy 2-core machine, so here only the windows that straddle the boundary are read.
    [Fact]
    public void WindowsPastTwoGibibytesReadTheRightBytes()
    {
        const long size = (2L << 30) + 64;
        string path = temp.File("big.safetensors");
        byte[] head = Raw("{" + Entry("big", "U8", $"[{size}]", $"[0,{size}]") + "}", 0);
        var marks = new Dictionary<long, byte> { [0] = 0x11, [int.MaxValue] = 0x22, [1L << 31] = 0x33, [size - 1] = 0x44 };
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            stream.Write(head);
            stream.SetLength(head.Length + size);
            foreach (var (at, value) in marks)
            {
                stream.Position = head.Length + at;
                stream.WriteByte(value);
            }
        }

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(new byte[] { 0x22, 0x33 }, file.Bytes("big", int.MaxValue, 2).ToArray());
        Assert.Equal(new byte[] { 0, 0x44 }, file.Bytes("big", size - 2, 2).ToArray());
        Assert.Equal(0x11, file.Bytes("big", 0, 1)[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.Bytes("big", size - 1, 2).Length);
    }
}
