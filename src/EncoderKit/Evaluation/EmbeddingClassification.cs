namespace EncoderKit.Evaluation;

/// <summary>
/// Classification on embeddings under MTEB's protocol (AbsTaskClassification with logReg): <see cref="Experiments"/>
/// times, the training indices are shuffled again (NumPy's legacy generator seeded with 42, the permutation carried
/// from one experiment to the next, as MTEB carries it) and the first <see cref="SamplesPerLabel"/> of each label taken;
/// a <see cref="LogisticRegression"/> is fitted on them and scored on the whole test set. Scores are the means over
/// experiments: accuracy (the main score), macro F1 as "f1", support-weighted F1 as "f1_weighted", and, for labels
/// 0/1, "ap" — sklearn's average precision of the predicted labels, as MTEB computes it.
/// </summary>
public sealed class EmbeddingClassification
{
    public int Experiments { get; init; } = 10;
    public int SamplesPerLabel { get; init; } = 8;
    public uint Seed { get; init; } = 42;

    public Dictionary<string, double> Evaluate(IReadOnlyList<float[]> trainX, IReadOnlyList<int> trainY, IReadOnlyList<float[]> testX, IReadOnlyList<int> testY)
    {
        if (Experiments < 1) throw new EncoderKitException(ErrorKind.BadInput, $"must be at least 1, got {Experiments}", field: "n_experiments");
        if (SamplesPerLabel < 1) throw new EncoderKitException(ErrorKind.BadInput, $"must be at least 1, got {SamplesPerLabel}", field: "samples_per_label");
        var random = new NumpyLegacyRandom(Seed);
        int[] indices = Enumerable.Range(0, trainY.Count).ToArray();
        int[] truth = testY.ToArray();
        bool binary = truth.Concat(trainY).All(l => l is 0 or 1);
        var sums = new Dictionary<string, double>();
        for (int experiment = 0; experiment < Experiments; experiment++)
        {
            random.Shuffle(indices.AsSpan());
            var taken = new Dictionary<int, int>();
            var x = new List<float[]>();
            var y = new List<int>();
            foreach (int i in indices)
            {
                if (taken.GetValueOrDefault(trainY[i]) >= SamplesPerLabel) continue;
                taken[trainY[i]] = taken.GetValueOrDefault(trainY[i]) + 1;
                x.Add(trainX[i]);
                y.Add(trainY[i]);
            }
            int[] predicted = LogisticRegression.Fit(x, y).Predict(testX);
            Add(sums, "accuracy", ClassificationMetrics.Accuracy(truth, predicted));
            Add(sums, "f1", ClassificationMetrics.MacroF1(truth, predicted));
            Add(sums, "f1_weighted", WeightedF1(truth, predicted));
            if (binary)
                Add(sums, "ap", RankingMetrics.AveragePrecision(truth.Select(t => t == 1).ToArray(), predicted.Select(p => (double)p).ToArray()));
        }
        return sums.ToDictionary(p => p.Key, p => p.Value / Experiments);
    }

    /// <summary>Each class's F1 weighted by its share of the true labels (f1_score average='weighted').</summary>
    public static double WeightedF1(ReadOnlySpan<int> truth, ReadOnlySpan<int> predicted)
    {
        var support = new Dictionary<int, int>();
        foreach (int t in truth) support[t] = support.GetValueOrDefault(t) + 1;
        double sum = 0;
        foreach (var (label, count) in support) sum += count * ClassificationMetrics.F1(truth, predicted, label);
        return sum / truth.Length;
    }

    static void Add(Dictionary<string, double> sums, string key, double value) => sums[key] = sums.GetValueOrDefault(key) + value;
}
