using System.Numerics.Tensors;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Evaluation;

/// <summary>
/// Exact top-k of many queries over a large corpus: each query walks the corpus keeping its k best in a bounded heap,
/// so the memory beyond the embeddings themselves is k hits per query — never a queries × corpus score matrix.
/// Queries run in parallel; cosine divides by norms computed once per corpus row.
/// </summary>
public static class StreamingExactSearch
{
    /// <summary>The k best corpus rows for each query, best first; equal scores keep corpus order.</summary>
    public static SearchHit[][] TopK(IReadOnlyList<float[]> queries, IReadOnlyList<float[]> corpus, int k,
        SimilarityFunction function = SimilarityFunction.Cosine, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        if (k < 1) throw new EncoderKitException(ErrorKind.BadInput, $"top-k must be at least 1, got {k}", field: "top_k");
        float[]? norms = null;
        if (function == SimilarityFunction.Cosine)
        {
            norms = new float[corpus.Count];
            Parallel.For(0, corpus.Count, i => norms[i] = Math.Max(TensorPrimitives.Norm(corpus[i]), 1e-12f));
        }
        var results = new SearchHit[queries.Count][];
        int done = 0;
        Parallel.For(0, queries.Count, new ParallelOptions { CancellationToken = cancellationToken }, q =>
        {
            float[] query = queries[q];
            float queryNorm = Math.Max(TensorPrimitives.Norm(query), 1e-12f);
            var heap = new PriorityQueue<SearchHit, (float Score, int NegIndex)>(k + 1);
            for (int i = 0; i < corpus.Count; i++)
            {
                if (corpus[i].Length != query.Length)
                    throw new EncoderKitException(ErrorKind.BadInput, $"corpus row {i} has {corpus[i].Length} dimensions, the query {query.Length}");
                float score = norms is null ? Similarity.Score(query, corpus[i], function) : TensorPrimitives.Dot(query, corpus[i]) / (queryNorm * norms[i]);
                var key = (score, -i);
                if (heap.Count < k) heap.Enqueue(new SearchHit(i, score), key);
                else if (heap.TryPeek(out _, out var worst) && (score > worst.Score || (score == worst.Score && -i > worst.NegIndex)))
                    heap.EnqueueDequeue(new SearchHit(i, score), key);
            }
            var hits = new SearchHit[heap.Count];
            for (int i = hits.Length - 1; i >= 0; i--) hits[i] = heap.Dequeue();
            results[q] = hits;
            progress?.Report(Interlocked.Increment(ref done));
        });
        return results;
    }
}
