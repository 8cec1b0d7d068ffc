using EncoderKit.Contrastive;
using EncoderKit.Training;

namespace EncoderKit.Tests.Contrastive;

/// <summary>The epoch's batches: every row once, no text twice in a batch, one source per batch when asked, seeded.</summary>
public sealed class ContrastiveBatchesTests
{
    // 40 rows over 10 distinct anchors (each 4 times) and 20 distinct positives: duplicates everywhere.
    static readonly IReadOnlyList<IReadOnlyList<string>> Rows =
        [.. Enumerable.Range(0, 40).Select(i => (IReadOnlyList<string>)[$"query {i % 10}", $"doc {i % 20}"])];

    [Fact]
    public void NoBatchHoldsATextTwiceAndEveryRowComesOnce()
    {
        var batches = ContrastiveBatches.Epoch(Rows, batchSize: 8, new DataOrderGenerator(3));
        Assert.Equal(Enumerable.Range(0, 40), batches.SelectMany(b => b).Order());
        foreach (int[] batch in batches)
        {
            var texts = batch.SelectMany(r => Rows[r]).ToList();
            Assert.Equal(texts.Count, texts.Distinct().Count());
        }
        // Ten distinct anchors: a first batch of 8 can be filled despite the duplicates.
        Assert.Equal(8, batches[0].Length);
    }

    [Fact]
    public void WithoutTheCheckBatchesAreTheShuffledOrderInChunks()
    {
        var batches = ContrastiveBatches.Epoch(Rows, batchSize: 8, new DataOrderGenerator(3), noDuplicates: false);
        Assert.Equal(new DataOrderGenerator(3).Permutation(40), batches.SelectMany(b => b));
        Assert.All(batches, b => Assert.Equal(8, b.Length));
        Assert.Contains(batches, b => b.SelectMany(r => Rows[r]).Distinct().Count() < 2 * b.Length);
    }

    [Fact]
    public void EachBatchDrawsFromOneDataset()
    {
        string[] datasets = [.. Enumerable.Range(0, 40).Select(i => i < 25 ? "wiki" : "forum")];
        var batches = ContrastiveBatches.Epoch(Rows, batchSize: 4, new DataOrderGenerator(9), datasets, noDuplicates: false, dropLast: true);
        Assert.All(batches, b => Assert.Single(b.Select(r => datasets[r]).Distinct()));
        Assert.All(batches, b => Assert.Equal(4, b.Length));
        Assert.Equal(6 + 3, batches.Count);   // 25 wiki rows → 6 full batches, 15 forum rows → 3
        Assert.Equal(batches.Select(b => b.ToArray()), ContrastiveBatches.Epoch(Rows, 4, new DataOrderGenerator(9), datasets, noDuplicates: false, dropLast: true));
    }
}
