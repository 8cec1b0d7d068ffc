namespace EncoderKit.Evaluation;

/// <summary>
/// Classification scores as scikit-learn computes them for GLUE and JGLUE (accuracy, F1, Matthews correlation), over
/// integer class ids. A score whose denominator is zero is 0, as scikit-learn's zero_division default gives.
/// </summary>
public static class ClassificationMetrics
{
    public static double Accuracy(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted)
    {
        RequirePairs(truth, predicted);
        int correct = 0;
        for (int i = 0; i < truth.Length; i++) if (truth[i] == predicted[i]) correct++;
        return (double)correct / truth.Length;
    }

    /// <summary>F1 of one class against the rest (f1_score with average='binary'; MRPC and QQP score class 1).</summary>
    public static double F1(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted, int positive = 1)
    {
        RequirePairs(truth, predicted);
        int tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            bool isTrue = truth[i] == positive, isPredicted = predicted[i] == positive;
            if (isTrue && isPredicted) tp++;
            else if (isPredicted) fp++;
            else if (isTrue) fn++;
        }
        return 2 * tp + fp + fn == 0 ? 0 : 2.0 * tp / (2 * tp + fp + fn);
    }

    /// <summary>The unweighted mean of each class's F1 over the classes that occur in either list (average='macro').</summary>
    public static double MacroF1(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted)
    {
        RequirePairs(truth, predicted);
        var classes = new SortedSet<int>();
        foreach (int c in truth) classes.Add(c);
        foreach (int c in predicted) classes.Add(c);
        double sum = 0;
        foreach (int c in classes) sum += F1(truth, predicted, c);
        return sum / classes.Count;
    }

    /// <summary>
    /// Matthews correlation in its multi-class form (matthews_corrcoef): (c·s − Σ pₖtₖ) / √((s² − Σ pₖ²)(s² − Σ tₖ²)) with
    /// c correct, s samples, tₖ and pₖ the true and predicted counts of class k; 0 when a side has one class only.
    /// </summary>
    public static double MatthewsCorrelation(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted)
    {
        RequirePairs(truth, predicted);
        var trueCounts = new Dictionary<int, long>();
        var predictedCounts = new Dictionary<int, long>();
        long correct = 0, samples = truth.Length;
        for (int i = 0; i < truth.Length; i++)
        {
            trueCounts[truth[i]] = trueCounts.GetValueOrDefault(truth[i]) + 1;
            predictedCounts[predicted[i]] = predictedCounts.GetValueOrDefault(predicted[i]) + 1;
            if (truth[i] == predicted[i]) correct++;
        }
        double covariance = (double)correct * samples, trueSquares = 0, predictedSquares = 0;
        foreach (var (c, t) in trueCounts)
        {
            covariance -= (double)t * predictedCounts.GetValueOrDefault(c);
            trueSquares += (double)t * t;
        }
        foreach (long p in predictedCounts.Values) predictedSquares += (double)p * p;
        double denominator = ((double)samples * samples - predictedSquares) * ((double)samples * samples - trueSquares);
        return denominator == 0 ? 0 : covariance / Math.Sqrt(denominator);
    }

    static void RequirePairs(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted)
    {
        if (truth.Length != predicted.Length) throw new ArgumentException($"{truth.Length} true labels against {predicted.Length} predictions");
        if (truth.Length == 0) throw new ArgumentException("no labels to score");
    }
}
