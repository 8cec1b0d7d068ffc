namespace EncoderKit.Evaluation;

/// <summary>Scores of a ranking against binary relevance, as scikit-learn computes them.</summary>
public static class RankingMetrics
{
    /// <summary>
    /// Average precision as sklearn's average_precision_score: Σ (Rₙ − Rₙ₋₁)·Pₙ over the distinct scores, highest
    /// first, tied scores entering together; 0 when nothing is relevant (sklearn then sets recall to 1 everywhere).
    /// </summary>
    public static double AveragePrecision(ReadOnlySpan<bool> relevant, ReadOnlySpan<double> scores)
    {
        if (relevant.Length != scores.Length) throw new ArgumentException($"{relevant.Length} labels against {scores.Length} scores");
        if (relevant.Length == 0) throw new ArgumentException("no scores to rank");
        int positives = 0;
        foreach (bool r in relevant) if (r) positives++;
        if (positives == 0) return 0;
        int[] order = DescendingOrder(scores);
        double ap = 0, previousRecall = 0;
        int truePositives = 0, taken = 0;
        for (int i = 0; i < order.Length;)
        {
            double score = scores[order[i]];
            for (; i < order.Length && scores[order[i]] == score; i++)
            {
                taken++;
                if (relevant[order[i]]) truePositives++;
            }
            double recall = (double)truePositives / positives;
            ap += (recall - previousRecall) * truePositives / taken;
            previousRecall = recall;
        }
        return ap;
    }

    /// <summary>Indices by score, highest first; equal scores keep input order (a stable sort).</summary>
    public static int[] DescendingOrder(ReadOnlySpan<double> scores)
    {
        double[] keys = scores.ToArray();
        return Enumerable.Range(0, keys.Length).OrderByDescending(i => keys[i]).ToArray();
    }
}
