using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EncoderKit.IO;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Cli.Commands;

/// <summary>Embeddings as a matrix of rows: float32, or quantized bytes (signed or not).</summary>
sealed class EmbeddingRows
{
    /// <param name="width">Elements per row, for an empty set too.</param>
    public EmbeddingRows(float[][] floats, int width) => (Floats, Count, Width) = (floats, floats.Length, floats.Length > 0 ? floats[0].Length : width);

    public EmbeddingRows(QuantizedEmbeddings quantized, int width) =>
        (Quantized, Count, Width) = (quantized, quantized.Rows.Count, quantized.Rows.Count > 0 ? quantized.Rows[0].Length : width);

    public float[][]? Floats { get; }
    public QuantizedEmbeddings? Quantized { get; }
    public int Count { get; }
    public int Width { get; }

    public TensorDtype Dtype => Quantized is null ? TensorDtype.F32 : Quantized.Signed ? TensorDtype.I8 : TensorDtype.U8;
}

/// <summary>
/// Writes embeddings as JSON lines (<c>{"embedding": [...]}</c> per input, in input order), a NumPy .npy matrix, or a
/// safetensors file (tensor "embeddings"). A file is written whole or not at all (temporary name, then a rename);
/// binary formats are refused on a terminal.
/// </summary>
static class EmbeddingOutput
{
    public static readonly string[] Formats = ["jsonl", "npy", "safetensors"];

    public static void Write(CliInvocation cli, EmbeddingRows rows, string format, string? path, IReadOnlyDictionary<string, string> metadata)
    {
        if (path is null && format != "jsonl" && cli.OutputIsTerminal)
            throw new EncoderKitException(ErrorKind.BadInput, $"{format} is binary: give --output FILE or redirect standard output", field: "--format");
        if (format == "safetensors")
        {
            var tensor = new TensorData("embeddings", rows.Dtype, [rows.Count, rows.Width], Bytes(rows));
            if (path is not null)
            {
                SafetensorsWriter.Write(path, [tensor], metadata);
                return;
            }
            // safetensors writes files; to standard output it goes through a temporary file.
            string temporary = Path.Combine(Path.GetTempPath(), $"encoderkit-{Guid.NewGuid():N}.safetensors");
            try
            {
                SafetensorsWriter.Write(temporary, [tensor], metadata);
                Stream stdout = cli.OutputStream();
                using FileStream file = File.OpenRead(temporary);
                file.CopyTo(stdout);
                stdout.Flush();
            }
            finally
            {
                File.Delete(temporary);
            }
            return;
        }
        Action<Stream> write = format switch
        {
            "jsonl" => stream => WriteJsonLines(rows, stream),
            "npy" => stream => WriteNpy(rows, stream),
            _ => throw new EncoderKitException(ErrorKind.BadInput, $"unknown format '{format}' (use {string.Join(", ", Formats)})", field: "--format"),
        };
        if (path is not null)
        {
            AtomicFile.Write(path, write);
            return;
        }
        Stream output = cli.OutputStream();
        write(output);
        output.Flush();
    }

    static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    static void WriteJsonLines(EmbeddingRows rows, Stream stream)
    {
        var buffered = new BufferedStream(stream, 1 << 16);   // not disposed: that would close the caller's stream
        using var json = new Utf8JsonWriter(buffered, JsonOptions);
        for (int i = 0; i < rows.Count; i++)
        {
            json.WriteStartObject();
            json.WriteStartArray("embedding");
            if (rows.Floats is { } floats)
                foreach (float x in floats[i]) json.WriteNumberValue(x);
            else
                foreach (int x in rows.Quantized!.Values(i)) json.WriteNumberValue(x);
            json.WriteEndArray();
            json.WriteEndObject();
            json.Flush();
            buffered.WriteByte((byte)'\n');
            json.Reset(buffered);
        }
        buffered.Flush();
    }

    /// <summary>NumPy format 1.0: magic, header length, a Python dict literal padded to 64 bytes, then row-major data.</summary>
    static void WriteNpy(EmbeddingRows rows, Stream stream)
    {
        string descr = rows.Dtype switch { TensorDtype.F32 => "<f4", TensorDtype.I8 => "|i1", _ => "|u1" };
        string dict = string.Create(CultureInfo.InvariantCulture, $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows.Count}, {rows.Width}), }}");
        int unpadded = 6 + 2 + 2 + dict.Length + 1;
        string header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);   // magic, version 1.0
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, checked((ushort)header.Length));
        stream.Write(length);
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(Bytes(rows));
    }

    static byte[] Bytes(EmbeddingRows rows)
    {
        int elementSize = rows.Dtype == TensorDtype.F32 ? sizeof(float) : 1;
        var data = new byte[(long)rows.Count * rows.Width * elementSize];
        for (int i = 0; i < rows.Count; i++)
        {
            Span<byte> target = data.AsSpan(i * rows.Width * elementSize, rows.Width * elementSize);
            if (rows.Floats is { } floats) System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats[i].AsSpan()).CopyTo(target);
            else rows.Quantized!.Rows[i].CopyTo(target);
        }
        return data;
    }
}
