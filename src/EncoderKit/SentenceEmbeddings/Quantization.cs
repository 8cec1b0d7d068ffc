namespace EncoderKit.SentenceEmbeddings;

/// <summary>Output precisions, as sentence-transformers' quantize_embeddings defines them.</summary>
public enum EmbeddingPrecision
{
    /// <summary>The float vectors as computed.</summary>
    Float32,
    /// <summary>Per dimension, (x − min) / ((max − min) / 255) − 128, truncated to a signed byte.</summary>
    Int8,
    /// <summary>Per dimension, (x − min) / ((max − min) / 255), truncated to a byte.</summary>
    UInt8,
    /// <summary>Sign bits (x &gt; 0) packed 8 to a byte, most significant first, stored as byte − 128 (signed).</summary>
    Binary,
    /// <summary>Sign bits (x &gt; 0) packed 8 to a byte, most significant first (unsigned).</summary>
    UBinary,
}

/// <summary>Quantized embeddings: one row of bytes per embedding; <see cref="Signed"/> says how to read the bytes.</summary>
public sealed class QuantizedEmbeddings
{
    internal QuantizedEmbeddings(EmbeddingPrecision precision, int dimensions, byte[][] rows)
    {
        Precision = precision;
        Dimensions = dimensions;
        Rows = rows;
    }

    public EmbeddingPrecision Precision { get; }

    /// <summary>The float dimensions the rows were made from (a binary row holds Dimensions / 8 bytes).</summary>
    public int Dimensions { get; }

    /// <summary>The raw bytes of each row; for <see cref="Signed"/> precisions, each byte is a two's-complement sbyte.</summary>
    public IReadOnlyList<byte[]> Rows { get; }

    /// <summary>True for int8 and binary (values −128…127), false for uint8 and ubinary (0…255).</summary>
    public bool Signed => Precision is EmbeddingPrecision.Int8 or EmbeddingPrecision.Binary;

    /// <summary>Row <paramref name="row"/> as numbers in the precision's range.</summary>
    public int[] Values(int row) => Signed ? Rows[row].Select(b => (int)unchecked((sbyte)b)).ToArray() : Rows[row].Select(b => (int)b).ToArray();
}

/// <summary>
/// sentence-transformers' quantize_embeddings, step for step: int8/uint8 buckets from per-dimension ranges (given, from
/// calibration embeddings, or from the embeddings themselves), float32 arithmetic, and numpy's truncating casts;
/// binary/ubinary pack the sign bits with numpy's packbits order.
/// </summary>
public static class EmbeddingQuantizer
{
    /// <summary>Below this many embeddings, ranges computed from the embeddings themselves are unreliable (the library warns too).</summary>
    public const int FewEmbeddingsForRanges = 100;

    /// <summary>The precision's name as sentence-transformers spells it.</summary>
    public static string Name(EmbeddingPrecision precision) => precision.ToString().ToLowerInvariant();

    public static bool TryParse(string name, out EmbeddingPrecision precision) =>
        Enum.TryParse(name, ignoreCase: true, out precision) && Enum.IsDefined(precision) && !int.TryParse(name, out _);

    /// <param name="embeddings">Float vectors, all of one width.</param>
    /// <param name="ranges">int8/uint8 only: [2][D], the per-dimension minimum and maximum.</param>
    /// <param name="calibration">int8/uint8 only, without <paramref name="ranges"/>: embeddings to take the ranges from.</param>
    /// <remarks>
    /// A dimension whose range is empty (max == min; always so for a single embedding) divides by zero in the library
    /// and numpy turns the resulting NaN into 0; so do we. Values outside given ranges wrap around as numpy's cast does on x86.
    /// </remarks>
    public static QuantizedEmbeddings Quantize(IReadOnlyList<float[]> embeddings, EmbeddingPrecision precision,
        float[][]? ranges = null, IReadOnlyList<float[]>? calibration = null)
    {
        if (precision == EmbeddingPrecision.Float32)
            throw new ArgumentException("float32 needs no quantization", nameof(precision));
        int dims = embeddings.Count > 0 ? embeddings[0].Length : 0;
        for (int i = 0; i < embeddings.Count; i++)
            if (embeddings[i].Length != dims)
                throw new EncoderKitException(ErrorKind.BadInput, $"embedding {i} has {embeddings[i].Length} dimensions, expected {dims}");

        if (precision is EmbeddingPrecision.Binary or EmbeddingPrecision.UBinary)
        {
            // numpy packs the whole flattened array, so rows only stay apart when the width is a multiple of 8.
            if (dims % 8 != 0)
                throw new EncoderKitException(ErrorKind.BadInput, $"{Name(precision)} precision packs 8 dimensions to a byte; {dims} is not a multiple of 8");
            int shift = precision == EmbeddingPrecision.Binary ? 128 : 0;
            return new QuantizedEmbeddings(precision, dims, embeddings.Select(e => PackBits(e, shift)).ToArray());
        }

        var (starts, steps) = Buckets(embeddings, dims, ranges, calibration);
        var rows = new byte[embeddings.Count][];
        for (int i = 0; i < rows.Length; i++)
        {
            var row = new byte[dims];
            for (int d = 0; d < dims; d++)
            {
                float bucket = (embeddings[i][d] - starts[d]) / steps[d];       // float32, as numpy computes it
                if (precision == EmbeddingPrecision.Int8) bucket -= 128f;
                row[d] = unchecked((byte)NumpyCast(bucket));
            }
            rows[i] = row;
        }
        return new QuantizedEmbeddings(precision, dims, rows);
    }

    static (float[] Starts, float[] Steps) Buckets(IReadOnlyList<float[]> embeddings, int dims, float[][]? ranges, IReadOnlyList<float[]>? calibration)
    {
        if (ranges is null)
        {
            IReadOnlyList<float[]> source = calibration ?? embeddings;
            if (source.Count == 0) return (new float[dims], Enumerable.Repeat(1f, dims).ToArray());
            var min = (float[])source[0].Clone();
            var max = (float[])source[0].Clone();
            foreach (float[] e in source)
            {
                if (e.Length != dims)
                    throw new EncoderKitException(ErrorKind.BadInput, $"calibration embeddings have {e.Length} dimensions, expected {dims}");
                for (int d = 0; d < dims; d++)
                {
                    min[d] = Math.Min(min[d], e[d]);
                    max[d] = Math.Max(max[d], e[d]);
                }
            }
            ranges = [min, max];
        }
        if (ranges.Length != 2 || ranges[0].Length != dims || ranges[1].Length != dims)
            throw new EncoderKitException(ErrorKind.BadInput, $"ranges must be [2][{dims}]: the minimum and maximum of each dimension");
        var steps = new float[dims];
        for (int d = 0; d < dims; d++) steps[d] = (ranges[1][d] - ranges[0][d]) / 255f;
        return (ranges[0], steps);
    }

    /// <summary>numpy's float → integer cast on x86: truncation toward zero through a 64-bit integer; NaN becomes 0.</summary>
    static long NumpyCast(float value) => float.IsNaN(value) || float.IsInfinity(value) ? 0 : (long)value;

    static byte[] PackBits(float[] embedding, int shift)
    {
        var packed = new byte[embedding.Length / 8];
        for (int i = 0; i < packed.Length; i++)
        {
            int b = 0;
            for (int k = 0; k < 8; k++) b = (b << 1) | (embedding[i * 8 + k] > 0 ? 1 : 0);
            packed[i] = unchecked((byte)(b - shift));
        }
        return packed;
    }
}
