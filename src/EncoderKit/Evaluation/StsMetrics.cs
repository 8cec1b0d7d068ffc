using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Evaluation;

/// <summary>
/// Semantic textual similarity as MTEB's STSEvaluator scores it: Pearson and Spearman correlation of the gold scores
/// with the cosine similarity of each pair's embeddings (main score cosine_spearman), and with the negative Manhattan
/// and Euclidean distances. Correlations do not change when the gold scores are rescaled, so MTEB's normalisation of
/// them to [0, 1] is left out.
/// </summary>
public static class StsMetrics
{
    public static Dictionary<string, double> Evaluate(IReadOnlyList<float[]> first, IReadOnlyList<float[]> second, IReadOnlyList<double> gold)
    {
        if (first.Count != second.Count || first.Count != gold.Count)
            throw new ArgumentException($"{first.Count} and {second.Count} embeddings against {gold.Count} gold scores");
        double[] truth = gold.ToArray();
        var result = new Dictionary<string, double>();
        foreach (var (name, function) in new[]
        {
            ("cosine", SimilarityFunction.Cosine), ("manhattan", SimilarityFunction.Manhattan), ("euclidean", SimilarityFunction.Euclidean),
        })
        {
            double[] predicted = Similarity.Pairwise(first, second, function).Select(s => (double)s).ToArray();
            result[name + "_pearson"] = Correlation.Pearson(truth, predicted);
            result[name + "_spearman"] = Correlation.Spearman(truth, predicted);
        }
        return result;
    }
}
