namespace EncoderKit.SentenceEmbeddings;

/// <summary>One result of a search: the corpus row and its score.</summary>
public readonly record struct SearchHit(int Index, float Score);

/// <summary>
/// Exhaustive (exact) top-k search: every corpus row is scored, the k best kept, best first; equal scores keep corpus
/// order. No index, no approximation: fine up to a few million rows × a few hundred dimensions on a CPU.
/// </summary>
public static class ExactSearch
{
    public static IReadOnlyList<SearchHit> TopK(float[] query, IReadOnlyList<float[]> corpus, int k, SimilarityFunction function = SimilarityFunction.Cosine)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(corpus);
        if (k < 1) throw new EncoderKitException(ErrorKind.BadInput, $"top-k must be at least 1, got {k}", field: "top_k");
        float[] scores = Similarity.Matrix([query], corpus, function)[0];
        // A bounded min-heap of the k best so far; ties go to the earlier row, so the order is deterministic.
        var heap = new PriorityQueue<SearchHit, (float Score, int NegIndex)>(k + 1);
        for (int i = 0; i < scores.Length; i++)
        {
            heap.Enqueue(new SearchHit(i, scores[i]), (scores[i], -i));
            if (heap.Count > k) heap.Dequeue();
        }
        var hits = new SearchHit[heap.Count];
        for (int i = hits.Length - 1; i >= 0; i--) hits[i] = heap.Dequeue();
        return hits;
    }
}
