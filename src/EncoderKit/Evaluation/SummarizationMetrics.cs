using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Evaluation;

/// <summary>One text of a summarization set: its machine summaries with their human scores, and the human (reference) summaries.</summary>
public sealed record SummarizationItem(IReadOnlyList<float[]> Machine, IReadOnlyList<double> HumanScores, IReadOnlyList<float[]> References);

/// <summary>
/// Summarization as MTEB's SummarizationEvaluator scores it (SummEval): each machine summary's score is its highest
/// cosine similarity (and, separately, dot product) to the text's human summaries; per text, Spearman and Pearson
/// correlation of those scores with the human ones; then the mean over texts. A text whose human scores are all
/// equal is skipped, as MTEB skips it.
/// </summary>
public static class SummarizationMetrics
{
    public static Dictionary<string, double> Evaluate(IEnumerable<SummarizationItem> items)
    {
        var sums = new Dictionary<string, double> { ["cosine_spearman"] = 0, ["cosine_pearson"] = 0, ["dot_spearman"] = 0, ["dot_pearson"] = 0 };
        int counted = 0;
        foreach (SummarizationItem item in items)
        {
            if (item.Machine.Count != item.HumanScores.Count)
                throw new ArgumentException($"{item.Machine.Count} machine summaries against {item.HumanScores.Count} human scores");
            if (item.HumanScores.Distinct().Count() == 1) continue;
            double[] human = item.HumanScores.ToArray();
            foreach (var (name, function) in new[] { ("cosine", SimilarityFunction.Cosine), ("dot", SimilarityFunction.Dot) })
            {
                double[] predicted = Similarity.Matrix(item.Machine, item.References, function).Select(row => (double)row.Max()).ToArray();
                sums[name + "_spearman"] += Correlation.Spearman(human, predicted);
                sums[name + "_pearson"] += Correlation.Pearson(human, predicted);
            }
            counted++;
        }
        if (counted == 0) throw new EncoderKitException(ErrorKind.BadInput, "no text has human scores that differ, so nothing can be correlated");
        return sums.ToDictionary(p => p.Key, p => p.Value / counted);
    }
}
