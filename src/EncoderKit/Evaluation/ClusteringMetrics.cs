namespace EncoderKit.Evaluation;

/// <summary>Homogeneity, completeness and V-measure as sklearn.metrics computes them.</summary>
public readonly record struct VMeasureScore(double Homogeneity, double Completeness, double VMeasure);

/// <summary>Clustering scores as scikit-learn computes them (MTEB's clustering tasks report V-measure).</summary>
public static class ClusteringMetrics
{
    /// <summary>
    /// homogeneity_completeness_v_measure with β = 1: h = I(C;K)/H(C), c = I(C;K)/H(K) in nats, each 1 when its entropy is
    /// 0 (one class, or one cluster), v = 2hc/(h + c), 0 when h + c is 0; all three 1 for no samples.
    /// </summary>
    public static VMeasureScore VMeasure(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted)
    {
        if (truth.Length != predicted.Length) throw new ArgumentException($"{truth.Length} true labels against {predicted.Length} cluster labels");
        if (truth.Length == 0) return new VMeasureScore(1, 1, 1);
        var classes = new Dictionary<int, long>();
        var clusters = new Dictionary<int, long>();
        var joint = new Dictionary<(int, int), long>();
        for (int i = 0; i < truth.Length; i++)
        {
            classes[truth[i]] = classes.GetValueOrDefault(truth[i]) + 1;
            clusters[predicted[i]] = clusters.GetValueOrDefault(predicted[i]) + 1;
            joint[(truth[i], predicted[i])] = joint.GetValueOrDefault((truth[i], predicted[i])) + 1;
        }
        double n = truth.Length;
        double mutual = 0;
        foreach (var ((c, k), count) in joint)
            mutual += count / n * (Math.Log(count) + Math.Log(n) - Math.Log(classes[c]) - Math.Log(clusters[k]));
        mutual = Math.Max(mutual, 0);   // sklearn clips rounding below zero
        double entropyC = Entropy(classes.Values, n), entropyK = Entropy(clusters.Values, n);
        double homogeneity = entropyC == 0 ? 1 : mutual / entropyC;
        double completeness = entropyK == 0 ? 1 : mutual / entropyK;
        double v = homogeneity + completeness == 0 ? 0 : 2 * homogeneity * completeness / (homogeneity + completeness);
        return new VMeasureScore(homogeneity, completeness, v);
    }

    static double Entropy(IEnumerable<long> counts, double n)
    {
        double entropy = 0;
        foreach (long count in counts) entropy -= count / n * (Math.Log(count) - Math.Log(n));
        return entropy;
    }
}
