using EncoderKit.Evaluation;

namespace EncoderKit.Tests.Evaluation;

/// <summary>
/// Retrieval measures against values worked out by hand from trec_eval's definitions (ndcg_cut with the judgement as
/// gain, map_cut over all relevant documents, P.k over k, ties ranked by document id descending) and MTEB's averaging.
/// Tolerance 1e-12 for single queries (a handful of exact operations); averages rounded to 5 decimals as MTEB rounds.
/// </summary>
public sealed class RetrievalMetricsTests
{
    const double Tolerance = 1e-12;

    static ScoredDocument[] Run(params (string Id, double Score)[] documents) => documents.Select(d => new ScoredDocument(d.Id, d.Score)).ToArray();

    static Dictionary<string, int> Judged(params (string Id, int Relevance)[] judgements) => judgements.ToDictionary(j => j.Id, j => j.Relevance);

    [Fact]
    public void NdcgUsesTheGradedJudgementAsGainNotTwoToThePower()
    {
        var judged = Judged(("d1", 3), ("d2", 1), ("d3", 0));
        var ranked = RetrievalMetrics.TrecOrder(Run(("d3", 0.9), ("d2", 0.8), ("d1", 0.7)));
        // DCG@3 = 0/log2(2) + 1/log2(3) + 3/log2(4); ideal = 3/log2(2) + 1/log2(3). With 2^rel − 1 gains it would be
        // (1/log2(3) + 7/2) / (7 + 1/log2(3)), a different number.
        double expected = (1 / Math.Log2(3) + 3 / 2.0) / (3 + 1 / Math.Log2(3));
        Assert.Equal(expected, RetrievalMetrics.NdcgAtK(ranked, judged, 3), Tolerance);
        // Cut at 1: the ideal keeps its best document (gain 3), the run's first is irrelevant.
        Assert.Equal(0, RetrievalMetrics.NdcgAtK(ranked, judged, 1));
        // Cut at 2: DCG 1/log2(3) against ideal 3 + 1/log2(3).
        Assert.Equal(1 / Math.Log2(3) / (3 + 1 / Math.Log2(3)), RetrievalMetrics.NdcgAtK(ranked, judged, 2), Tolerance);
    }

    [Fact]
    public void EqualScoresAreRankedByDocumentIdDescendingAsTrecEvalDoes()
    {
        var judged = Judged(("a", 1));
        var ranked = RetrievalMetrics.TrecOrder(Run(("a", 0.5), ("c", 0.5), ("b", 0.5), ("z", 0.1)));
        Assert.Equal(["c", "b", "a", "z"], ranked.Select(d => d.DocumentId));
        Assert.Equal(0, RetrievalMetrics.ReciprocalRankAtK(ranked, judged, 2));
        Assert.Equal(1.0 / 3, RetrievalMetrics.ReciprocalRankAtK(ranked, judged, 3), Tolerance);
        Assert.Equal(0, RetrievalMetrics.PrecisionAtK(ranked, judged, 1));
    }

    [Fact]
    public void MrrStopsAtItsCutoff()
    {
        var judged = Judged(("d4", 1), ("d5", 1));
        var ranked = RetrievalMetrics.TrecOrder(Run(("d1", 5), ("d2", 4), ("d3", 3), ("d4", 2), ("d5", 1)));
        Assert.Equal(0, RetrievalMetrics.ReciprocalRankAtK(ranked, judged, 3));
        Assert.Equal(0.25, RetrievalMetrics.ReciprocalRankAtK(ranked, judged, 5), Tolerance);
        Assert.Equal(0.25, RetrievalMetrics.ReciprocalRankAtK(ranked, judged, 1000), Tolerance);
    }

    [Fact]
    public void MapDividesByEveryRelevantDocumentAndPrecisionByK()
    {
        // Three relevant documents, only one retrieved, at rank 2.
        var judged = Judged(("r1", 1), ("r2", 2), ("r3", 1), ("n", 0));
        var ranked = RetrievalMetrics.TrecOrder(Run(("n", 0.9), ("r1", 0.8)));
        Assert.Equal(0.5 / 3, RetrievalMetrics.AveragePrecisionAtK(ranked, judged, 10), Tolerance);
        Assert.Equal(0, RetrievalMetrics.AveragePrecisionAtK(ranked, judged, 1));
        Assert.Equal(1.0 / 10, RetrievalMetrics.PrecisionAtK(ranked, judged, 10), Tolerance);   // not 1/2: P@k divides by k
        Assert.Equal(1.0 / 3, RetrievalMetrics.RecallAtK(ranked, judged, 10), Tolerance);
    }

    [Fact]
    public void PerfectAndWorstRankings()
    {
        var judged = Judged(("a", 2), ("b", 1));
        var perfect = RetrievalMetrics.TrecOrder(Run(("a", 3), ("b", 2), ("x", 1), ("y", 0)));
        var worst = RetrievalMetrics.TrecOrder(Run(("x", 3), ("y", 2), ("b", 1), ("a", 0)));
        Assert.Equal(1, RetrievalMetrics.NdcgAtK(perfect, judged, 10), Tolerance);
        Assert.Equal(1, RetrievalMetrics.AveragePrecisionAtK(perfect, judged, 10), Tolerance);
        Assert.Equal(1, RetrievalMetrics.ReciprocalRankAtK(perfect, judged, 10));
        Assert.Equal(0, RetrievalMetrics.NdcgAtK(worst, judged, 2));
        // Worst at 4: b (gain 1) at rank 3, a (gain 2) at rank 4.
        double dcg = 1 / Math.Log2(4) + 2 / Math.Log2(5), ideal = 2 + 1 / Math.Log2(3);
        Assert.Equal(dcg / ideal, RetrievalMetrics.NdcgAtK(worst, judged, 4), Tolerance);
        Assert.Equal((1.0 / 3 + 2.0 / 4) / 2, RetrievalMetrics.AveragePrecisionAtK(worst, judged, 4), Tolerance);
    }

    [Fact]
    public void AJudgedQueryWithNoRelevantDocumentScoresZeroAndCountsInTheMean()
    {
        var judgements = new Dictionary<string, IReadOnlyDictionary<string, int>>
        {
            ["q1"] = Judged(("a", 1)),
            ["q2"] = Judged(("a", 0), ("b", 0)),   // judged, nothing relevant
        };
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>
        {
            ["q1"] = Run(("a", 0.9), ("b", 0.1)),
            ["q2"] = Run(("a", 0.9), ("b", 0.1)),
            ["q3"] = Run(("a", 0.9)),   // not judged: not scored, as pytrec_eval skips it
        };
        var scores = RetrievalMetrics.Evaluate(judgements, run);
        Assert.Equal(0.5, scores["ndcg_at_10"]);
        Assert.Equal(0.5, scores["map_at_100"]);
        Assert.Equal(0.5, scores["recall_at_1"]);
        Assert.Equal(0.5, scores["mrr_at_10"]);
        Assert.Equal(0.05, scores["precision_at_10"]);
        Assert.Equal(30, scores.Count);   // 5 measures × 6 cut-offs
    }

    [Fact]
    public void PytrecMeasuresAreRoundedToFiveDecimalsAndMrrIsNot()
    {
        var judgements = new Dictionary<string, IReadOnlyDictionary<string, int>> { ["q"] = Judged(("r1", 1), ("r2", 1), ("r3", 1)) };
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["q"] = Run(("n1", 0.9), ("n2", 0.8), ("r1", 0.7)) };
        var scores = RetrievalMetrics.Evaluate(judgements, run);
        Assert.Equal(0.11111, scores["map_at_10"]);        // (1/3)/3 = 0.111111…
        Assert.Equal(0.33333, scores["recall_at_3"]);
        Assert.Equal(1.0 / 3, scores["mrr_at_3"], Tolerance);
    }

    [Fact]
    public void ARunWithNoJudgedQueryIsAnError()
    {
        var judgements = new Dictionary<string, IReadOnlyDictionary<string, int>> { ["q"] = Judged(("a", 1)) };
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>> { ["other"] = Run(("a", 1)) };
        Assert.Throws<EncoderKitException>(() => RetrievalMetrics.Evaluate(judgements, run));
    }
}
