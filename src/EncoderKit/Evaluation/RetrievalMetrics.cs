namespace EncoderKit.Evaluation;

/// <summary>One retrieved document of a run: its id and the score the system gave it.</summary>
public readonly record struct ScoredDocument(string DocumentId, double Score);

/// <summary>
/// Retrieval scores as MTEB computes them: nDCG@k, MAP@k, recall@k and precision@k as pytrec_eval (trec_eval 9's
/// ndcg_cut, map_cut, recall, P) measures each query, averaged over the queries that are both judged and run and
/// rounded to 5 decimals as MTEB rounds them; MRR@k as MTEB's own mrr function, averaged unrounded.
/// </summary>
/// <remarks>
/// <para>
/// trec_eval's conventions, which the tests pin: a run is ranked by score descending, equal scores by document id
/// descending (ordinal string order, as strcmp); a document is relevant when its judgement is at least 1; nDCG's gain
/// is the judgement itself (not 2^rel − 1) with a log2(rank + 1) discount, the ideal ranking built from every judged
/// document; MAP@k divides by all relevant documents, not by min(k, relevant); P@k always divides by k. A judged
/// query with no relevant document scores 0 on every measure and counts in the average; a query the judgements do
/// not name is not scored (MTEB drops such queries before retrieving).
/// </para>
/// <para>
/// One deliberate difference: MTEB's mrr sorts the run with Python's stable sort, so equal scores keep whatever order
/// its search produced; here MRR uses trec_eval's order too, so every measure sees the same ranking.
/// </para>
/// </remarks>
public static class RetrievalMetrics
{
    /// <summary>MTEB's cut-offs.</summary>
    public static IReadOnlyList<int> DefaultCutoffs { get; } = [1, 3, 5, 10, 100, 1000];

    /// <summary>A run ranked as trec_eval ranks it: score descending, then document id descending.</summary>
    public static ScoredDocument[] TrecOrder(IEnumerable<ScoredDocument> run)
    {
        ScoredDocument[] ranked = run.ToArray();
        Array.Sort(ranked, (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : string.CompareOrdinal(b.DocumentId, a.DocumentId));
        return ranked;
    }

    /// <summary>nDCG@k of one ranked run (pytrec_eval ndcg_cut.k).</summary>
    public static double NdcgAtK(IReadOnlyList<ScoredDocument> ranked, IReadOnlyDictionary<string, int> judgements, int k)
    {
        double dcg = 0;
        for (int i = 0; i < Math.Min(k, ranked.Count); i++)
            if (judgements.TryGetValue(ranked[i].DocumentId, out int rel) && rel > 0) dcg += rel / Math.Log2(i + 2);
        int[] ideal = judgements.Values.Where(r => r > 0).OrderDescending().ToArray();
        double idcg = 0;
        for (int i = 0; i < Math.Min(k, ideal.Length); i++) idcg += ideal[i] / Math.Log2(i + 2);
        return idcg > 0 ? dcg / idcg : 0;
    }

    /// <summary>Average precision over the first k (pytrec_eval map_cut.k): divided by every relevant document.</summary>
    public static double AveragePrecisionAtK(IReadOnlyList<ScoredDocument> ranked, IReadOnlyDictionary<string, int> judgements, int k)
    {
        int relevant = RelevantCount(judgements);
        if (relevant == 0) return 0;
        double sum = 0;
        int found = 0;
        for (int i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (!IsRelevant(judgements, ranked[i].DocumentId)) continue;
            found++;
            sum += (double)found / (i + 1);
        }
        return sum / relevant;
    }

    /// <summary>Relevant documents in the first k over all relevant documents (pytrec_eval recall.k).</summary>
    public static double RecallAtK(IReadOnlyList<ScoredDocument> ranked, IReadOnlyDictionary<string, int> judgements, int k)
    {
        int relevant = RelevantCount(judgements);
        return relevant == 0 ? 0 : (double)RelevantInTop(ranked, judgements, k) / relevant;
    }

    /// <summary>Relevant documents in the first k over k, however many were retrieved (pytrec_eval P.k).</summary>
    public static double PrecisionAtK(IReadOnlyList<ScoredDocument> ranked, IReadOnlyDictionary<string, int> judgements, int k) =>
        (double)RelevantInTop(ranked, judgements, k) / k;

    /// <summary>1 / rank of the first relevant document within the first k, 0 when there is none there (MTEB's MRR@k).</summary>
    public static double ReciprocalRankAtK(IReadOnlyList<ScoredDocument> ranked, IReadOnlyDictionary<string, int> judgements, int k)
    {
        for (int i = 0; i < Math.Min(k, ranked.Count); i++)
            if (IsRelevant(judgements, ranked[i].DocumentId)) return 1.0 / (i + 1);
        return 0;
    }

    /// <summary>
    /// Every measure at every cut-off under MTEB's key names (ndcg_at_10, map_at_100, recall_at_1, precision_at_5,
    /// mrr_at_10, …), averaged over the queries both judged and run.
    /// </summary>
    /// <param name="judgements">query id → (document id → relevance).</param>
    /// <param name="run">query id → retrieved documents with scores, in any order.</param>
    public static Dictionary<string, double> Evaluate(IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> judgements,
        IReadOnlyDictionary<string, IReadOnlyList<ScoredDocument>> run, IReadOnlyList<int>? cutoffs = null)
    {
        cutoffs ??= DefaultCutoffs;
        var measures = new (string Name, Func<IReadOnlyList<ScoredDocument>, IReadOnlyDictionary<string, int>, int, double> Score, bool Rounded)[]
        {
            ("ndcg_at_", NdcgAtK, true), ("map_at_", AveragePrecisionAtK, true), ("recall_at_", RecallAtK, true),
            ("precision_at_", PrecisionAtK, true), ("mrr_at_", ReciprocalRankAtK, false),
        };
        var sums = new Dictionary<string, double>();
        int queries = 0;
        foreach (var (query, documents) in run)
        {
            if (!judgements.TryGetValue(query, out var judged)) continue;
            queries++;
            ScoredDocument[] ranked = TrecOrder(documents);
            foreach (var (name, score, _) in measures)
                foreach (int k in cutoffs)
                    sums[name + k] = sums.GetValueOrDefault(name + k) + score(ranked, judged, k);
        }
        if (queries == 0) throw new EncoderKitException(ErrorKind.BadInput, "no query of the run has relevance judgements");
        var result = new Dictionary<string, double>();
        foreach (var (name, _, rounded) in measures)
            foreach (int k in cutoffs)
            {
                double mean = sums[name + k] / queries;
                result[name + k] = rounded ? Math.Round(mean, 5, MidpointRounding.ToEven) : mean;
            }
        return result;
    }

    static bool IsRelevant(IReadOnlyDictionary<string, int> judgements, string document) =>
        judgements.TryGetValue(document, out int rel) && rel >= 1;

    static int RelevantCount(IReadOnlyDictionary<string, int> judgements) => judgements.Values.Count(r => r >= 1);

    static int RelevantInTop(IReadOnlyList<ScoredDocument> ranked, IReadOnlyDictionary<string, int> judgements, int k)
    {
        int found = 0;
        for (int i = 0; i < Math.Min(k, ranked.Count); i++)
            if (IsRelevant(judgements, ranked[i].DocumentId)) found++;
        return found;
    }
}
