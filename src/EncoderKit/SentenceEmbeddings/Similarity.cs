using System.Numerics.Tensors;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>The similarity functions sentence-transformers defines (config_sentence_transformers.json similarity_fn_name).</summary>
public enum SimilarityFunction
{
    /// <summary>Dot product of the L2-normalised vectors (norms clamped at 1e-12).</summary>
    Cosine,
    /// <summary>Dot product.</summary>
    Dot,
    /// <summary>Negative Euclidean distance: higher is more similar.</summary>
    Euclidean,
    /// <summary>Negative Manhattan (L1) distance: higher is more similar.</summary>
    Manhattan,
}

/// <summary>
/// Scores between embeddings, as sentence-transformers' util functions define them: a matrix (every row of one set
/// against every row of the other) or pairwise (row i against row i). Computed in float32, as torch computes them.
/// </summary>
public static class Similarity
{
    /// <summary>Parses a similarity_fn_name ("cosine", "dot", "euclidean", "manhattan"; "dot_product" as the library also accepts).</summary>
    public static bool TryParse(string name, out SimilarityFunction function)
    {
        switch (name.ToLowerInvariant())
        {
            case "cosine" or "cos": function = SimilarityFunction.Cosine; return true;
            case "dot" or "dot_product": function = SimilarityFunction.Dot; return true;
            case "euclidean": function = SimilarityFunction.Euclidean; return true;
            case "manhattan": function = SimilarityFunction.Manhattan; return true;
            default: function = default; return false;
        }
    }

    /// <summary>The name sentence-transformers writes for <paramref name="function"/>.</summary>
    public static string Name(SimilarityFunction function) => function switch
    {
        SimilarityFunction.Cosine => "cosine",
        SimilarityFunction.Dot => "dot",
        SimilarityFunction.Euclidean => "euclidean",
        SimilarityFunction.Manhattan => "manhattan",
        _ => throw new ArgumentOutOfRangeException(nameof(function)),
    };

    /// <summary>[a.Length][b.Length]: score of a[i] against b[j].</summary>
    public static float[][] Matrix(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b, SimilarityFunction function = SimilarityFunction.Cosine)
    {
        CheckWidths(a, b);
        float[]? normsA = function == SimilarityFunction.Cosine ? Norms(a) : null;
        float[]? normsB = function == SimilarityFunction.Cosine ? Norms(b) : null;
        var result = new float[a.Count][];
        Parallel.For(0, a.Count, i =>
        {
            var row = new float[b.Count];
            for (int j = 0; j < b.Count; j++) row[j] = Score(a[i], b[j], function, normsA?[i] ?? 0, normsB?[j] ?? 0);
            result[i] = row;
        });
        return result;
    }

    /// <summary>[n]: score of a[i] against b[i].</summary>
    public static float[] Pairwise(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b, SimilarityFunction function = SimilarityFunction.Cosine)
    {
        if (a.Count != b.Count)
            throw new EncoderKitException(ErrorKind.BadInput, $"pairwise similarity needs as many rows on each side, got {a.Count} and {b.Count}");
        CheckWidths(a, b);
        var result = new float[a.Count];
        for (int i = 0; i < a.Count; i++)
            result[i] = Score(a[i], b[i], function, function == SimilarityFunction.Cosine ? Norm(a[i]) : 0, function == SimilarityFunction.Cosine ? Norm(b[i]) : 0);
        return result;
    }

    /// <summary>The score of one pair.</summary>
    public static float Score(ReadOnlySpan<float> a, ReadOnlySpan<float> b, SimilarityFunction function = SimilarityFunction.Cosine) =>
        Score(a, b, function, function == SimilarityFunction.Cosine ? Norm(a) : 0, function == SimilarityFunction.Cosine ? Norm(b) : 0);

    // TensorPrimitives' vectorised float kernels, as torch's float32 matmul and cdist compute these scores (the
    // sentence-transformers util functions), rather than a scalar loop.
    static float Score(ReadOnlySpan<float> a, ReadOnlySpan<float> b, SimilarityFunction function, float normA, float normB)
    {
        if (a.Length != b.Length)
            throw new EncoderKitException(ErrorKind.BadInput, $"embeddings of {a.Length} and {b.Length} dimensions cannot be compared");
        switch (function)
        {
            case SimilarityFunction.Cosine:
                return TensorPrimitives.Dot(a, b) / (Math.Max(normA, 1e-12f) * Math.Max(normB, 1e-12f));
            case SimilarityFunction.Dot:
                return TensorPrimitives.Dot(a, b);
            case SimilarityFunction.Euclidean:
                return -TensorPrimitives.Distance(a, b);
            case SimilarityFunction.Manhattan:
                float[] difference = System.Buffers.ArrayPool<float>.Shared.Rent(a.Length);
                try
                {
                    Span<float> d = difference.AsSpan(0, a.Length);
                    TensorPrimitives.Subtract(a, b, d);
                    return -TensorPrimitives.SumOfMagnitudes(d);
                }
                finally
                {
                    System.Buffers.ArrayPool<float>.Shared.Return(difference);
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(function));
        }
    }

    static float Norm(ReadOnlySpan<float> v) => TensorPrimitives.Norm(v);

    static float[] Norms(IReadOnlyList<float[]> rows)
    {
        var norms = new float[rows.Count];
        for (int i = 0; i < rows.Count; i++) norms[i] = Norm(rows[i]);
        return norms;
    }

    static void CheckWidths(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b)
    {
        int width = a.Count > 0 ? a[0].Length : b.Count > 0 ? b[0].Length : 0;
        foreach (var rows in new[] { a, b })
            for (int i = 0; i < rows.Count; i++)
                if (rows[i].Length != width)
                    throw new EncoderKitException(ErrorKind.BadInput, $"row {i} has {rows[i].Length} dimensions, expected {width}");
    }
}
