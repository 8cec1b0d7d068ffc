namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// Which inputs run together. Sorted by length (longest first, ties in input order), each batch pads to its own
/// longest member, so similar lengths together waste little compute on padding; results are put back in input order
/// by the caller. A pure function: testable without a model.
/// </summary>
public static class LengthBatching
{
    /// <returns>Batches of input indices, each at most <paramref name="batchSize"/> long, covering every index once.</returns>
    public static IReadOnlyList<int[]> Plan(IReadOnlyList<int> lengths, int batchSize, bool sortByLength = true)
    {
        if (batchSize < 1) throw new EncoderKitException(ErrorKind.BadInput, $"batch size must be at least 1, got {batchSize}", field: "batch_size");
        int[] order = Enumerable.Range(0, lengths.Count).ToArray();
        if (sortByLength) order = order.OrderByDescending(i => lengths[i]).ThenBy(i => i).ToArray();   // OrderBy is stable
        return order.Chunk(batchSize).ToArray();
    }

    /// <summary>Tokens the batches compute, padding included (each batch is its size × its longest length).</summary>
    public static long PaddedTokens(IReadOnlyList<int> lengths, IEnumerable<int[]> batches) =>
        batches.Sum(b => (long)b.Length * (b.Length == 0 ? 0 : b.Max(i => lengths[i])));
}
