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
/// against every row of the other) or pairwise (row i against row i). Sums run in double and are rounded to float.
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
        double[]? normsA = function == SimilarityFunction.Cosine ? Norms(a) : null;
        double[]? normsB = function == SimilarityFunction.Cosine ? Norms(b) : null;
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

    static float Score(ReadOnlySpan<float> a, ReadOnlySpan<float> b, SimilarityFunction function, double normA, double normB)
    {
        if (a.Length != b.Length)
            throw new EncoderKitException(ErrorKind.BadInput, $"embeddings of {a.Length} and {b.Length} dimensions cannot be compared");
        double s = 0;
        switch (function)
        {
            case SimilarityFunction.Cosine:
            case SimilarityFunction.Dot:
                for (int k = 0; k < a.Length; k++) s += (double)a[k] * b[k];
                if (function == SimilarityFunction.Cosine) s /= Math.Max(normA, 1e-12) * Math.Max(normB, 1e-12);
                return (float)s;
            case SimilarityFunction.Euclidean:
                for (int k = 0; k < a.Length; k++) { double d = (double)a[k] - b[k]; s += d * d; }
                return (float)-Math.Sqrt(s);
            case SimilarityFunction.Manhattan:
                for (int k = 0; k < a.Length; k++) s += Math.Abs((double)a[k] - b[k]);
                return (float)-s;
            default:
                throw new ArgumentOutOfRangeException(nameof(function));
        }
    }

    static double Norm(ReadOnlySpan<float> v)
    {
        double s = 0;
        foreach (float x in v) s += (double)x * x;
        return Math.Sqrt(s);
    }

    static double[] Norms(IReadOnlyList<float[]> rows)
    {
        var norms = new double[rows.Count];
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
