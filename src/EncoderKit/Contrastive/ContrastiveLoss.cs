using EncoderKit.Compute;
using static TorchSharp.torch;

namespace EncoderKit.Contrastive;

/// <summary>
/// The contrastive losses as sentence-transformers defines them (scale, similarity, label layout), over sentence
/// embeddings: rows of each column belong together (anchor i, positive i, hard negative i, …).
/// </summary>
public static class ContrastiveLoss
{
    /// <summary>sentence-transformers' default scale for cosine scores (a temperature of 0.05).</summary>
    public const double DefaultScale = 20;

    /// <summary>
    /// Multiple-negatives ranking (InfoNCE with in-batch negatives): the cosine scores of every anchor against every
    /// candidate — all positives, then each hard-negative column — times <paramref name="scale"/>, and cross-entropy with
    /// anchor i's positive at column i. Symmetric adds the same over positives against anchors and halves the sum
    /// (MultipleNegativesSymmetricRankingLoss).
    /// </summary>
    /// <param name="columns">[B, D] each: anchors, positives, then any hard-negative columns.</param>
    public static Tensor MultipleNegativesRanking(IReadOnlyList<Tensor> columns, double scale = DefaultScale, bool symmetric = false)
    {
        if (columns.Count < 2) throw new ArgumentException($"{columns.Count} columns: anchors and positives at least", nameof(columns));
        Tensor anchors = columns[0];
        long rows = anchors.shape[0];
        using var scope = NewDisposeScope();
        Tensor candidates = cat(columns.Skip(1).ToArray(), 0);                       // [B·(columns − 1), D]
        Tensor scores = CosineScores(anchors, candidates) * scale;                     // [B, B·(columns − 1)]
        Tensor labels = TensorRange.Arange(rows, ScalarType.Int64, anchors.device);
        Tensor loss = nn.functional.cross_entropy(scores, labels);
        if (symmetric)
        {
            Tensor positiveScores = scores.narrow(1, 0, rows);
            loss = (loss + nn.functional.cross_entropy(positiveScores.t(), labels)) / 2;
        }
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// CoSENT (Su, 2022): log(1 + Σ exp(s·(cos_k − cos_i))) over every pair of rows (i, k) whose gold score i is above
    /// gold score k, s the scale; sentence-transformers' CoSENTLoss.
    /// </summary>
    /// <param name="first">[B, D] first sentences.</param>
    /// <param name="second">[B, D] second sentences.</param>
    /// <param name="scores">[B] gold similarity of each pair.</param>
    public static Tensor CoSent(Tensor first, Tensor second, Tensor scores, double scale = DefaultScale)
    {
        using var scope = NewDisposeScope();
        Tensor cosine = (nn.functional.normalize(first, p: 2, dim: 1) * nn.functional.normalize(second, p: 2, dim: 1)).sum(1) * scale;   // [B]
        Tensor differences = cosine.unsqueeze(1) - cosine.unsqueeze(0);                   // [i, k] = cos_i − cos_k
        Tensor ordered = (scores.unsqueeze(1) < scores.unsqueeze(0)).to_type(differences.dtype);
        // Pairs not ordered this way drop out of the sum (−1e12), and the leading 0 is the "1 +".
        differences = differences - (1 - ordered) * 1e12;
        Tensor terms = cat([zeros(1, dtype: differences.dtype, device: differences.device), differences.view(-1)], 0);
        return terms.logsumexp(0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Matryoshka representation learning: the weighted sum of <paramref name="loss"/> over the embeddings cut to each
    /// width (the first <c>Dimensions[i]</c> values of every column), as sentence-transformers' MatryoshkaLoss with every
    /// dimension each step.
    /// </summary>
    public static Tensor Matryoshka(Func<IReadOnlyList<Tensor>, Tensor> loss, IReadOnlyList<Tensor> columns, MatryoshkaDimensions dimensions)
    {
        using var scope = NewDisposeScope();
        Tensor total = zeros(1, dtype: columns[0].dtype, device: columns[0].device).squeeze();
        for (int i = 0; i < dimensions.Dimensions.Count; i++)
        {
            int width = dimensions.Dimensions[i];
            if (width > columns[0].shape[^1])
                throw new EncoderKitException(ErrorKind.BadInput, $"Matryoshka dimension {width} is wider than the embeddings ({columns[0].shape[^1]})", field: "matryoshka_dims");
            total = total + loss([.. columns.Select(c => c.narrow(-1, 0, width))]) * dimensions.Weights[i];
        }
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>Cosine similarity of every row of <paramref name="a"/> with every row of <paramref name="b"/>, as sentence-transformers' cos_sim.</summary>
    public static Tensor CosineScores(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        Tensor normalizedA = nn.functional.normalize(a, p: 2, dim: 1), normalizedB = nn.functional.normalize(b, p: 2, dim: 1);
        return normalizedA.matmul(normalizedB.t()).MoveToOuterDisposeScope();
    }
}

/// <summary>The widths Matryoshka training scores, each with its weight (1 each unless given).</summary>
public sealed record MatryoshkaDimensions
{
    public MatryoshkaDimensions(IReadOnlyList<int> dimensions, IReadOnlyList<double>? weights = null)
    {
        if (dimensions.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "no dimensions given", field: "matryoshka_dims");
        if (dimensions.Any(d => d <= 0)) throw new EncoderKitException(ErrorKind.BadInput, $"dimensions must be positive: {string.Join(",", dimensions)}", field: "matryoshka_dims");
        if (dimensions.Distinct().Count() != dimensions.Count) throw new EncoderKitException(ErrorKind.BadInput, $"a dimension is repeated: {string.Join(",", dimensions)}", field: "matryoshka_dims");
        weights ??= [.. dimensions.Select(_ => 1.0)];
        if (weights.Count != dimensions.Count)
            throw new EncoderKitException(ErrorKind.BadInput, $"{weights.Count} weights for {dimensions.Count} dimensions", field: "matryoshka_weights");
        if (weights.Any(w => !(w >= 0) || double.IsInfinity(w))) throw new EncoderKitException(ErrorKind.BadInput, "weights must be finite and ≥ 0", field: "matryoshka_weights");
        Dimensions = dimensions;
        Weights = weights;
    }

    public IReadOnlyList<int> Dimensions { get; }
    public IReadOnlyList<double> Weights { get; }
}
