using System.Numerics.Tensors;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Evaluation;

/// <summary>
/// Exact top-k of many queries over a large corpus, in blocks of queries against blocks of corpus rows, each query
/// keeping its k best in a bounded heap: the memory beyond the embeddings themselves is k hits per query — never a
/// queries × corpus score matrix. Query blocks run in parallel; cosine divides by norms computed once per corpus row.
/// </summary>
public static class StreamingExactSearch
{
    const int QueryBlock = 32, CorpusBlock = 1024;

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
        int blocks = (queries.Count + QueryBlock - 1) / QueryBlock, done = 0;
        // Queries go in blocks against corpus blocks that stay in cache: the corpus streams from memory once per query
        // block rather than once per query, which is what bounds a plain loop at this size.
        Parallel.For(0, blocks, new ParallelOptions { CancellationToken = cancellationToken }, block =>
        {
            int first = block * QueryBlock, count = Math.Min(QueryBlock, queries.Count - first);
            var heaps = new PriorityQueue<SearchHit, (float Score, int NegIndex)>[count];
            var queryNorms = new float[count];
            for (int q = 0; q < count; q++)
            {
                heaps[q] = new PriorityQueue<SearchHit, (float, int)>(k + 1);
                queryNorms[q] = Math.Max(TensorPrimitives.Norm(queries[first + q]), 1e-12f);
            }
            for (int start = 0; start < corpus.Count; start += CorpusBlock)
            {
                int end = Math.Min(corpus.Count, start + CorpusBlock);
                for (int q = 0; q < count; q++)
                {
                    float[] query = queries[first + q];
                    var heap = heaps[q];
                    // The k-th best score so far: most rows fall below it and never touch the heap. Among equal scores
                    // the earlier row wins, and rows come in order, so an equal score never displaces a kept one.
                    float floor = heap.Count < k ? float.NegativeInfinity : heap.Peek().Score;
                    for (int i = start; i < end; i++)
                    {
                        if (corpus[i].Length != query.Length)
                            throw new EncoderKitException(ErrorKind.BadInput, $"corpus row {i} has {corpus[i].Length} dimensions, the query {query.Length}");
                        float score = norms is null ? Similarity.Score(query, corpus[i], function) : TensorPrimitives.Dot(query, corpus[i]) / (queryNorms[q] * norms[i]);
                        if (heap.Count < k)
                        {
                            heap.Enqueue(new SearchHit(i, score), (score, -i));
                            if (heap.Count == k) floor = heap.Peek().Score;
                        }
                        else if (score > floor)
                        {
                            heap.EnqueueDequeue(new SearchHit(i, score), (score, -i));
                            floor = heap.Peek().Score;
                        }
                    }
                }
            }
            for (int q = 0; q < count; q++)
            {
                var hits = new SearchHit[heaps[q].Count];
                for (int i = hits.Length - 1; i >= 0; i--) hits[i] = heaps[q].Dequeue();
                results[first + q] = hits;
            }
            progress?.Report(Math.Min(queries.Count, Interlocked.Increment(ref done) * QueryBlock));
        });
        return results;
    }
}
