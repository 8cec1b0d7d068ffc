using EncoderKit.Training;

namespace EncoderKit.Contrastive;

/// <summary>
/// One epoch's batches of row indices for contrastive training. With in-batch negatives, a text that occurs twice in
/// a batch is a negative of itself, so rows sharing any text (anchor, positive or negative) are kept out of each
/// other's batch, as sentence-transformers' NoDuplicatesBatchSampler does. With dataset names, every batch draws from
/// one dataset (as Nomic Embed trains: negatives from the same source are the hard ones), batches of all datasets then
/// in one shuffled order.
/// </summary>
public static class ContrastiveBatches
{
    /// <param name="rowTexts">Each row's texts.</param>
    /// <param name="datasets">Each row's dataset name, or null when batches may mix rows of any source.</param>
    /// <param name="noDuplicates">Keep rows that share a text out of one batch.</param>
    /// <param name="dropLast">Drop each source's last batch when it is smaller than <paramref name="batchSize"/>.</param>
    public static IReadOnlyList<int[]> Epoch(IReadOnlyList<IReadOnlyList<string>> rowTexts, int batchSize, DataOrderGenerator order,
        IReadOnlyList<string>? datasets = null, bool noDuplicates = true, bool dropLast = false)
    {
        if (batchSize < 1) throw new EncoderKitException(ErrorKind.BadInput, $"batch size {batchSize} is not ≥ 1", field: "batch_size");
        if (datasets is not null && datasets.Count != rowTexts.Count) throw new ArgumentException($"{datasets.Count} dataset names for {rowTexts.Count} rows", nameof(datasets));
        int[] permutation = order.Permutation(rowTexts.Count);
        var sources = datasets is null
            ? [permutation]
            : permutation.GroupBy(row => datasets[row], StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToArray()).ToList();
        var batches = new List<int[]>();
        foreach (int[] rows in sources)
            batches.AddRange(noDuplicates ? WithoutDuplicates(rowTexts, rows, batchSize, dropLast) : InOrder(rows, batchSize, dropLast));
        return datasets is null ? batches : [.. order.Permutation(batches.Count).Select(i => batches[i])];
    }

    static IEnumerable<int[]> InOrder(int[] rows, int batchSize, bool dropLast) =>
        rows.Chunk(batchSize).Where(batch => !dropLast || batch.Length == batchSize);

    // Each pass over the rows still waiting takes the first that shares no text with the batch so far; the rest wait
    // for a later batch, in their order. A pass stops once its batch is full, so an epoch costs about the rows it skips.
    static IEnumerable<int[]> WithoutDuplicates(IReadOnlyList<IReadOnlyList<string>> rowTexts, int[] rows, int batchSize, bool dropLast)
    {
        var waiting = new LinkedList<int>(rows);
        while (waiting.Count > 0)
        {
            var texts = new HashSet<string>(StringComparer.Ordinal);
            var batch = new List<int>(batchSize);
            for (LinkedListNode<int>? node = waiting.First; node is not null && batch.Count < batchSize;)
            {
                LinkedListNode<int>? next = node.Next;
                if (!rowTexts[node.Value].Any(texts.Contains))
                {
                    batch.Add(node.Value);
                    texts.UnionWith(rowTexts[node.Value]);
                    waiting.Remove(node);
                }
                node = next;
            }
            if (batch.Count == batchSize || !dropLast) yield return [.. batch];
        }
    }
}
