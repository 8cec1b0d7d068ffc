using EncoderKit.Evaluation;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Tests.Evaluation;

/// <summary>
/// The embedding-task scores (pair classification, STS, reranking, summarization, clustering) against values worked
/// out by hand in each test from the definitions MTEB's evaluators use. Tolerance 1e-12 where the arithmetic is a few
/// exact operations in double; 1e-6 where scores pass through float32 cosines.
/// </summary>
public sealed class EmbeddingMetricsTests
{
    const double Tolerance = 1e-12;

    [Fact]
    public void AveragePrecisionSumsRecallStepsTimesPrecisionWithTiesEnteringTogether()
    {
        // Ranked 1, 0, 1: recall .5 at precision 1, recall 1 at precision 2/3.
        Assert.Equal(0.5 * 1 + 0.5 * 2.0 / 3, RankingMetrics.AveragePrecision([true, false, true, false], [0.9, 0.8, 0.7, 0.6]), Tolerance);
        // The first two tie: they enter together (precision 1/2 at recall 1/2), then the last (2/3 at recall 1).
        Assert.Equal(0.5 * 0.5 + 0.5 * 2.0 / 3, RankingMetrics.AveragePrecision([true, false, true], [0.5, 0.5, 0.1]), Tolerance);
        Assert.Equal(1, RankingMetrics.AveragePrecision([true, true, false], [3, 2, 1]), Tolerance);
        Assert.Equal(0, RankingMetrics.AveragePrecision([false, false], [1, 2]));
    }

    [Fact]
    public void BestThresholdAccuracyAndF1FollowTheSortedCuts()
    {
        double[] scores = [0.9, 0.8, 0.7, 0.6];
        int[] labels = [1, 0, 1, 0];
        // Cut after 0.9: one positive above, two negatives below → 3/4, threshold the midpoint 0.85.
        var accuracy = PairClassificationMetrics.BestAccuracy(scores, labels, higherIsMoreSimilar: true);
        Assert.Equal(0.75, accuracy.Score, Tolerance);
        Assert.Equal(0.85, accuracy.Threshold, Tolerance);
        // Cut after 0.7: precision 2/3, recall 1 → F1 0.8, threshold 0.65.
        var f1 = PairClassificationMetrics.BestF1(scores, labels, higherIsMoreSimilar: true);
        Assert.Equal(0.8, f1.Score, Tolerance);
        Assert.Equal(0.65, f1.Threshold, Tolerance);
        Assert.Equal(2.0 / 3, f1.Precision, Tolerance);
        Assert.Equal(1, f1.Recall, Tolerance);
        // Distances: smaller is more similar, so the same pairs by distance 1 − score give the same answers.
        var byDistance = PairClassificationMetrics.BestF1(scores.Select(s => 1 - s).ToArray(), labels, higherIsMoreSimilar: false);
        Assert.Equal(0.8, byDistance.Score, Tolerance);
        Assert.Equal(0.35, byDistance.Threshold, 1e-9);
    }

    [Fact]
    public void PairClassificationSeparatedByCosineScoresPerfectly()
    {
        float[][] first = [[1, 0], [1, 0], [0, 1], [0, 1]];
        float[][] second = [[1, 0.1f], [0, 1], [0.1f, 1], [1, 0]];
        var scores = PairClassificationMetrics.Evaluate(first, second, [1, 0, 1, 0]);
        Assert.Equal(1, scores["cosine_ap"], Tolerance);
        Assert.Equal(1, scores["cosine_accuracy"], Tolerance);
        Assert.Equal(1, scores["cosine_f1"], Tolerance);
        Assert.Equal(1, scores["max_ap"], Tolerance);
        Assert.True(scores.ContainsKey("manhattan_ap") && scores.ContainsKey("euclidean_f1_threshold") && scores.ContainsKey("dot_accuracy"));
        Assert.Throws<EncoderKitException>(() => PairClassificationMetrics.Evaluate(first, second, [1, 0, 2, 0]));
    }

    [Fact]
    public void StsCorrelatesGoldScoresWithCosine()
    {
        // Cosines 1, cos 45° ≈ 0.707, 0: the same order as the gold scores, so Spearman is 1.
        float[][] first = [[1, 0], [1, 0], [1, 0]];
        float[][] second = [[2, 0], [1, 1], [0, 3]];
        double[] gold = [5, 2, 0];
        var scores = StsMetrics.Evaluate(first, second, gold);
        Assert.Equal(1, scores["cosine_spearman"], Tolerance);
        double[] cosines = [1, Math.Sqrt(0.5), 0];
        Assert.Equal(Pearson(gold, cosines), scores["cosine_pearson"], 1e-6);
        Assert.True(scores.ContainsKey("manhattan_spearman") && scores.ContainsKey("euclidean_pearson"));
    }

    [Fact]
    public void RerankingAveragesApAndMrrAtTenSkippingOneSidedQueries()
    {
        var instances = new List<(bool[], double[])>
        {
            ([true, false, false], [0.1, 0.9, 0.5]),             // the positive ranked third: AP 1/3, RR 1/3
            ([true, false], [0.9, 0.1]),                          // perfect: AP 1, RR 1
            ([true, true], [0.5, 0.4]),                           // no negative: skipped
            ([true, .. Enumerable.Repeat(false, 10)], [0, .. Enumerable.Repeat(1.0, 10)]),   // positive 11th: RR 0 at cut-off 10, AP 1/11
        };
        var scores = RerankingMetrics.Evaluate(instances);
        Assert.Equal((1.0 / 3 + 1 + 1.0 / 11) / 3, scores["map"], Tolerance);
        Assert.Equal((1.0 / 3 + 1 + 0) / 3, scores["mrr_at_10"], Tolerance);
    }

    [Fact]
    public void SummarizationCorrelatesMaxCosineWithHumanScoresPerText()
    {
        float[][] references = [[1, 0], [0, 1]];
        // Max cosine to either reference: 1, ~0.707, 1 → ranks 2.5, 1, 2.5 against human ranks 3, 1, 2.
        float[][] machine = [[1, 0], [1, 1], [0, 1]];
        double[] human = [3, 1, 2];
        var item = new SummarizationItem(machine, human, references);
        var constant = new SummarizationItem(machine, [2, 2, 2], references);   // all human scores equal: skipped
        var scores = SummarizationMetrics.Evaluate([item, constant]);
        Assert.Equal(Pearson([3, 1, 2], [2.5, 1, 2.5]), scores["cosine_spearman"], 1e-6);
        Assert.Equal(Pearson(human, [1, Math.Sqrt(0.5), 1]), scores["cosine_pearson"], 1e-6);
    }

    [Fact]
    public void VMeasureMatchesScikitLearnsDocumentedValues()
    {
        // sklearn's v_measure_score docs: perfect labelling 1.0; [0,0,1,2] vs [0,0,1,1] 0.8; all in one cluster 0.0.
        Assert.Equal(1, ClusteringMetrics.VMeasure([0, 0, 1, 1], [1, 1, 0, 0]).VMeasure, Tolerance);
        Assert.Equal(0.8, ClusteringMetrics.VMeasure([0, 0, 1, 2], [0, 0, 1, 1]).VMeasure, 1e-12);
        Assert.Equal(0, ClusteringMetrics.VMeasure([0, 0, 1, 1], [0, 0, 0, 0]).VMeasure, Tolerance);
        // One class only: homogeneity is 1 by convention; splitting it into clusters costs completeness 0 → V 0.
        var single = ClusteringMetrics.VMeasure([0, 0, 0, 0], [0, 1, 2, 3]);
        Assert.Equal(1, single.Homogeneity);
        Assert.Equal(0, single.VMeasure, Tolerance);
        // Hand-worked: classes [0,0,1,1], clusters [0,1,2,3]: h = 1, c = ln2 / ln4 = 1/2, v = 2/3.
        Assert.Equal(2.0 / 3, ClusteringMetrics.VMeasure([0, 0, 1, 1], [0, 1, 2, 3]).VMeasure, Tolerance);
    }

    [Fact]
    public void MiniBatchKMeansRecoversWellSeparatedBlobsDeterministically()
    {
        var random = new Random(1);
        var rows = new List<float[]>();
        var labels = new List<int>();
        float[][] centres = [[10, 0, 0], [0, 10, 0], [0, 0, 10]];
        for (int i = 0; i < 300; i++)
        {
            int label = i % 3;
            rows.Add(centres[label].Select(v => v + (float)(random.NextDouble() - 0.5)).ToArray());
            labels.Add(label);
        }
        int[] clusters = new MiniBatchKMeans { BatchSize = 50 }.FitPredict(rows, 3);
        Assert.Equal(1, ClusteringMetrics.VMeasure(labels.ToArray(), clusters).VMeasure, 1e-9);
        Assert.Equal(clusters, new MiniBatchKMeans { BatchSize = 50 }.FitPredict(rows, 3));
    }

    [Fact]
    public void ExactSearchKeepsTheBestKOfEveryQueryAsAFullSortWould()
    {
        var random = new Random(7);
        float[][] corpus = Enumerable.Range(0, 500).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()).ToArray();
        corpus[10] = corpus[3].ToArray();   // a tie: the earlier row ranks first
        float[][] queries = [corpus[3], .. Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray())];
        SearchHit[][] hits = StreamingExactSearch.TopK(queries, corpus, 20);
        for (int q = 0; q < queries.Length; q++)
        {
            float[] all = corpus.Select(row => Similarity.Score(queries[q], row)).ToArray();
            int[] expected = Enumerable.Range(0, corpus.Length).OrderByDescending(i => all[i]).ThenBy(i => i).Take(20).ToArray();
            Assert.Equal(expected, hits[q].Select(h => h.Index));
        }
        Assert.Equal(3, hits[0][0].Index);
        Assert.Equal(10, hits[0][1].Index);
        Assert.Equal(500, StreamingExactSearch.TopK(queries, corpus, 1000)[0].Length);
    }

    static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        double sxy = x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum();
        return sxy / Math.Sqrt(x.Sum(a => (a - mx) * (a - mx)) * y.Sum(b => (b - my) * (b - my)));
    }
}
