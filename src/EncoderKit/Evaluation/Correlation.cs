namespace EncoderKit.Evaluation;

/// <summary>Correlation coefficients as scipy.stats computes them (GLUE's STS-B, JSTS and MTEB's STS use these).</summary>
public static class Correlation
{
    /// <summary>Pearson's r; NaN when either side is constant, as scipy answers.</summary>
    public static double Pearson(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        RequirePairs(x, y);
        double meanX = Mean(x), meanY = Mean(y), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double dx = x[i] - meanX, dy = y[i] - meanY;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        if (sxx == 0 || syy == 0) return double.NaN;
        // Rounding can carry |r| a hair past 1; scipy clips it back.
        return Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    /// <summary>Spearman's ρ: Pearson's r of the ranks, ties given their average rank (scipy's spearmanr).</summary>
    public static double Spearman(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        RequirePairs(x, y);
        return Pearson(AverageRanks(x), AverageRanks(y));
    }

    /// <summary>1-based ranks, tied values sharing the mean of the ranks they span (scipy.stats.rankdata 'average').</summary>
    public static double[] AverageRanks(ReadOnlySpan<double> values)
    {
        double[] copy = values.ToArray();
        int[] order = Enumerable.Range(0, copy.Length).ToArray();
        Array.Sort(copy, order);
        var ranks = new double[copy.Length];
        for (int start = 0; start < copy.Length;)
        {
            int end = start + 1;
            while (end < copy.Length && copy[end] == copy[start]) end++;
            double rank = (start + 1 + end) / 2.0;
            for (int i = start; i < end; i++) ranks[order[i]] = rank;
            start = end;
        }
        return ranks;
    }

    static double Mean(ReadOnlySpan<double> values)
    {
        double sum = 0;
        foreach (double v in values) sum += v;
        return sum / values.Length;
    }

    static void RequirePairs(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"{x.Length} values against {y.Length}");
        if (x.Length < 2) throw new ArgumentException($"a correlation needs at least 2 pairs, got {x.Length}");
    }
}
