using System.Globalization;
using EncoderKit.Evaluation;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Contrastive;

/// <summary>
/// How an embedding model retrieves on a BEIR set, as training watches it: the queries and documents embedded once at
/// full width, then searched exactly at full width and at each Matryoshka width (the first <c>d</c> values of every
/// vector), scored as pytrec_eval scores them: nDCG@10, MRR@10 and recall@100.
/// </summary>
public static class RetrievalValidation
{
    /// <summary>The metrics' names at full width; at a Matryoshka width <c>d</c> each ends in <c>_dim_d</c>.</summary>
    public static IReadOnlyList<string> Metrics { get; } = ["ndcg_at_10", "mrr_at_10", "recall_at_100"];

    /// <param name="dimensions">Matryoshka widths scored besides the full one.</param>
    public static Dictionary<string, double> Evaluate(SentenceEncoder encoder, RetrievalData data, IReadOnlyList<int> dimensions,
        string? queryPrompt = null, string? documentPrompt = null, CancellationToken cancellationToken = default)
    {
        var embed = new EmbedOptions { TruncateDim = encoder.FullDimension, Normalize = false };
        float[][] documents = encoder.Encode(data.Documents, prompt: documentPrompt ?? "", options: embed, cancellationToken: cancellationToken);
        float[][] queries = encoder.Encode(data.Queries, prompt: queryPrompt ?? "", options: embed, cancellationToken: cancellationToken);
        var metrics = Score(encoder, data, queries, documents, "");
        foreach (int width in dimensions.Where(d => d < encoder.FullDimension))
        {
            float[][] Cut(float[][] vectors) => [.. vectors.Select(v => v[..width])];
            foreach (var (name, value) in Score(encoder, data, Cut(queries), Cut(documents), "_dim_" + width.ToString(CultureInfo.InvariantCulture)))
                metrics[name] = value;
        }
        return metrics;
    }

    static Dictionary<string, double> Score(SentenceEncoder encoder, RetrievalData data, float[][] queries, float[][] documents, string suffix)
    {
        SearchHit[][] hits = StreamingExactSearch.TopK(queries, documents, 100, encoder.SimilarityFunction);
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>(StringComparer.Ordinal);
        for (int q = 0; q < hits.Length; q++) run[data.QueryIds[q]] = [.. hits[q].Select(h => new ScoredDocument(data.DocumentIds[h.Index], h.Score))];
        Dictionary<string, double> all = RetrievalMetrics.Evaluate(data.Judgements, run, [10, 100]);
        return Metrics.ToDictionary(name => name + suffix, name => all[name]);
    }
}
