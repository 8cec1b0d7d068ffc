using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Evaluation;

/// <summary>The best accuracy or F1 a single threshold on a score reaches, and where the threshold sits.</summary>
public readonly record struct ThresholdScore(double Score, double Threshold, double Precision = 0, double Recall = 0);

/// <summary>
/// Pair classification as MTEB's PairClassificationEvaluator scores it (sentence-transformers' binary
/// classification evaluator): for cosine similarity, dot product and Manhattan and Euclidean distance between the
/// two embeddings of each pair, the average precision, and the best accuracy and F1 any threshold on that score
/// gives, with the threshold; then the best of each over the four scores (max_ap, max_accuracy, max_f1).
/// </summary>
public static class PairClassificationMetrics
{
    /// <summary>
    /// The best accuracy over thresholds, as find_best_acc_and_threshold: the pairs sorted by score (most similar
    /// first, a stable sort), each cut between neighbours tried, the threshold the midpoint of the first best cut.
    /// </summary>
    public static ThresholdScore BestAccuracy(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, bool higherIsMoreSimilar)
    {
        int[] order = Order(scores, labels, higherIsMoreSimilar);
        int negativesLeft = 0;
        foreach (int l in labels) if (l == 0) negativesLeft++;
        int positivesSoFar = 0;
        double best = 0, threshold = -1;
        for (int i = 0; i < order.Length - 1; i++)
        {
            if (labels[order[i]] == 1) positivesSoFar++;
            else negativesLeft--;
            double accuracy = (double)(positivesSoFar + negativesLeft) / labels.Length;
            if (accuracy > best)
            {
                best = accuracy;
                threshold = (scores[order[i]] + scores[order[i + 1]]) / 2;
            }
        }
        return new ThresholdScore(best, threshold);
    }

    /// <summary>The best F1 over thresholds, as find_best_f1_and_threshold, with that cut's precision and recall.</summary>
    public static ThresholdScore BestF1(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, bool higherIsMoreSimilar)
    {
        int[] order = Order(scores, labels, higherIsMoreSimilar);
        int positives = 0;
        foreach (int l in labels) if (l == 1) positives++;
        int extracted = 0, correct = 0;
        double bestF1 = 0, bestPrecision = 0, bestRecall = 0, threshold = 0;
        for (int i = 0; i < order.Length - 1; i++)
        {
            extracted++;
            if (labels[order[i]] == 1) correct++;
            if (correct == 0) continue;
            double precision = (double)correct / extracted, recall = (double)correct / positives;
            double f1 = 2 * precision * recall / (precision + recall);
            if (f1 > bestF1)
            {
                (bestF1, bestPrecision, bestRecall) = (f1, precision, recall);
                threshold = (scores[order[i]] + scores[order[i + 1]]) / 2;
            }
        }
        return new ThresholdScore(bestF1, threshold, bestPrecision, bestRecall);
    }

    /// <summary>Every score under MTEB's key names (cosine_ap, cosine_accuracy, …, max_ap); labels are 0 or 1.</summary>
    public static Dictionary<string, double> Evaluate(IReadOnlyList<float[]> first, IReadOnlyList<float[]> second, IReadOnlyList<int> labels)
    {
        if (first.Count != second.Count || first.Count != labels.Count)
            throw new ArgumentException($"{first.Count} and {second.Count} embeddings against {labels.Count} labels");
        int[] y = labels.ToArray();
        if (y.Any(l => l is not (0 or 1))) throw new EncoderKitException(ErrorKind.BadInput, "pair classification labels must be 0 or 1");
        var result = new Dictionary<string, double>();
        foreach (var (name, function, higher) in new[]
        {
            ("cosine", SimilarityFunction.Cosine, true), ("manhattan", SimilarityFunction.Manhattan, false),
            ("euclidean", SimilarityFunction.Euclidean, false), ("dot", SimilarityFunction.Dot, true),
        })
        {
            // Similarity gives negative distances; the evaluator ranks the distances themselves, smallest first.
            double[] scores = Similarity.Pairwise(first, second, function).Select(s => higher ? (double)s : -(double)s).ToArray();
            ThresholdScore accuracy = BestAccuracy(scores, y, higher), f1 = BestF1(scores, y, higher);
            result[name + "_accuracy"] = accuracy.Score;
            result[name + "_accuracy_threshold"] = accuracy.Threshold;
            result[name + "_f1"] = f1.Score;
            result[name + "_f1_threshold"] = f1.Threshold;
            result[name + "_precision"] = f1.Precision;
            result[name + "_recall"] = f1.Recall;
            result[name + "_ap"] = RankingMetrics.AveragePrecision(y.Select(l => l == 1).ToArray(), scores.Select(s => higher ? s : -s).ToArray());
        }
        foreach (string metric in new[] { "accuracy", "f1", "precision", "recall", "ap" })
            result["max_" + metric] = new[] { "cosine", "manhattan", "euclidean", "dot" }.Max(n => result[n + "_" + metric]);
        return result;
    }

    static int[] Order(ReadOnlySpan<double> scores, ReadOnlySpan<int> labels, bool higherIsMoreSimilar)
    {
        if (scores.Length != labels.Length) throw new ArgumentException($"{scores.Length} scores against {labels.Length} labels");
        double[] keys = scores.ToArray();
        var indices = Enumerable.Range(0, keys.Length);
        // Python's sorted(..., reverse=True) keeps equal keys in input order, as OrderByDescending does.
        return (higherIsMoreSimilar ? indices.OrderByDescending(i => keys[i]) : indices.OrderBy(i => keys[i])).ToArray();
    }
}
