namespace EncoderKit.Evaluation;

/// <summary>
/// Reranking as MTEB's RerankingEvaluator scores it: per query, its positive and negative documents ranked by the
/// similarity of their embeddings to the query's; the mean over queries of average precision (sklearn's) and of the
/// reciprocal rank of the first positive within the first 10. A query without positives or without negatives is
/// skipped, as MTEB skips it.
/// </summary>
/// <remarks>MTEB ranks with torch.argsort, whose order among equal scores is unspecified; here they keep input order (positives first).</remarks>
public static class RerankingMetrics
{
    /// <summary>MTEB's MRR cut-off for reranking.</summary>
    public const int MrrCutoff = 10;

    /// <summary>Reciprocal rank of the first relevant candidate within the first <paramref name="k"/>, else 0.</summary>
    public static double ReciprocalRankAtK(ReadOnlySpan<bool> relevant, ReadOnlySpan<double> scores, int k)
    {
        int[] order = RankingMetrics.DescendingOrder(scores);
        for (int rank = 0; rank < Math.Min(k, order.Length); rank++)
            if (relevant[order[rank]]) return 1.0 / (rank + 1);
        return 0;
    }

    /// <summary>{map, mrr_at_10} over the queries that have both positives and negatives.</summary>
    /// <param name="instances">Per query: the candidates' similarity scores and whether each is a positive.</param>
    public static Dictionary<string, double> Evaluate(IEnumerable<(bool[] Relevant, double[] Scores)> instances)
    {
        double apSum = 0, mrrSum = 0;
        int counted = 0;
        foreach (var (relevant, scores) in instances)
        {
            if (!relevant.Contains(true) || !relevant.Contains(false)) continue;
            apSum += RankingMetrics.AveragePrecision(relevant, scores);
            mrrSum += ReciprocalRankAtK(relevant, scores, MrrCutoff);
            counted++;
        }
        if (counted == 0) throw new EncoderKitException(ErrorKind.BadInput, "no query has both a positive and a negative document to rank");
        return new Dictionary<string, double> { ["map"] = apSum / counted, ["mrr_at_10"] = mrrSum / counted };
    }
}
