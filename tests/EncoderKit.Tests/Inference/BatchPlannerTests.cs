using EncoderKit.Runtime;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// The planner as a pure function, on many random requests and limits (seeded, so a failure reproduces): every row
/// exactly once, limits kept, sorted, packed as full as the limits allow, and each batch holding its rows' ids padded.
/// </summary>
public sealed class BatchPlannerTests
{
    public static TheoryData<int> Seeds => new(Enumerable.Range(0, 25));

    static (int[] Lengths, BatchLimits Limits) RandomCase(int seed)
    {
        var random = new Random(seed);
        int[] lengths = Enumerable.Range(0, random.Next(0, 60)).Select(_ => random.Next(0, 3) == 0 ? random.Next(0, 400) : random.Next(1, 40)).ToArray();
        int? maxTokens = random.Next(0, 4) == 0 ? null : random.Next(1, 600);
        int? maxRows = random.Next(0, 4) == 0 ? null : random.Next(1, 12);
        double? paddingShare = random.Next(0, 2) == 0 ? null : random.NextDouble() * 0.5;
        return (lengths, new BatchLimits(maxTokens, maxRows, SortByLength: random.Next(0, 5) != 0, paddingShare));
    }

    static int Padded(int length) => Math.Max(1, length);   // an empty row still takes one masked position

    [Theory, MemberData(nameof(Seeds))]
    public void EveryRowOnceWithinTheLimitsSortedAndPackedFull(int seed)
    {
        var (lengths, limits) = RandomCase(seed);
        IReadOnlyList<int[]> plan = BatchPlanner.Plan(lengths, limits);

        int[] order = plan.SelectMany(b => b).ToArray();
        Assert.Equal(Enumerable.Range(0, lengths.Length), order.Order());
        Assert.All(plan, b => Assert.NotEmpty(b));
        int[] expectedOrder = limits.SortByLength
            ? Enumerable.Range(0, lengths.Length).OrderByDescending(i => lengths[i]).ThenBy(i => i).ToArray()
            : Enumerable.Range(0, lengths.Length).ToArray();
        Assert.Equal(expectedOrder, order);

        for (int k = 0; k < plan.Count; k++)
        {
            int[] batch = plan[k];
            long padded = (long)batch.Length * batch.Max(i => Padded(lengths[i]));
            if (limits.MaxRows is int rows) Assert.True(batch.Length <= rows, $"batch {k}: {batch.Length} rows, limit {rows}");
            // Only a row that alone exceeds the budget may make a batch over it, and then it runs alone.
            if (limits.MaxTokens is int budget && padded > budget)
                Assert.True(batch.Length == 1, $"batch {k}: {batch.Length} rows pad to {padded} tokens, budget {budget}");
            // Padding over the share only below the floor, or from a row that runs alone.
            if (limits.MaxPaddingShare is double maxShare && padded >= BatchPlanner.PaddingFloorTokens && batch.Length > 1)
            {
                long realTokens = batch.Sum(i => (long)Padded(lengths[i]));
                Assert.True(padded - realTokens <= maxShare * padded, $"batch {k}: {padded - realTokens} of {padded} positions are padding, share {maxShare:F3}");
            }
            if (k + 1 < plan.Count)
            {
                // Full: the next row would have broken a limit had it joined.
                int next = plan[k + 1][0];
                long grown = (long)(batch.Length + 1) * Math.Max(batch.Max(i => Padded(lengths[i])), Padded(lengths[next]));
                long grownReal = batch.Sum(i => (long)Padded(lengths[i])) + Padded(lengths[next]);
                bool tooMuchPadding = limits.MaxPaddingShare is double share && grown >= BatchPlanner.PaddingFloorTokens && grown - grownReal > share * grown;
                Assert.True(batch.Length + 1 > limits.MaxRows || grown > limits.MaxTokens || tooMuchPadding, $"batch {k} could have taken row {next}");
            }
        }
        Assert.Equal(plan.Sum(b => (long)b.Length * b.Max(i => Padded(lengths[i]))), BatchPlanner.PaddedTokens(lengths, plan));
    }

    [Fact]
    public void APaddingShareSplitsLongRowsFromShortOnesAboveTheFloor()
    {
        // 300, 290 then 60: the third row would make 900 positions of which 250 padding (28 %), so it starts a batch, and
        // 50 joins it (120 positions, below the floor). With 100 instead, 210 of 900 (23 %) would stay within the share.
        Assert.Equal([[0, 1], [2, 3]], BatchPlanner.Plan([300, 290, 60, 50], new BatchLimits(MaxPaddingShare: 0.25)));
        Assert.Equal([[0, 1, 2], [3]], BatchPlanner.Plan([300, 290, 100, 90], new BatchLimits(MaxPaddingShare: 0.25)));
        // Short rows stay together below the floor, whatever they pad: 4 × 40 positions.
        Assert.Equal([[0, 1, 2, 3]], BatchPlanner.Plan([40, 5, 5, 5], new BatchLimits(MaxPaddingShare: 0.25)));
        Assert.Equal([[0, 1, 2, 3]], BatchPlanner.Plan([300, 290, 100, 90], new BatchLimits(MaxPaddingShare: null)));
    }

    [Fact]
    public void ARowOverTheBudgetRunsAloneAndTheOthersStillPack()
    {
        int[] lengths = [10, 500, 10, 10, 10];
        IReadOnlyList<int[]> plan = BatchPlanner.Plan(lengths, new BatchLimits(MaxTokens: 30));
        Assert.Equal([[1], [0, 2, 3], [4]], plan);
    }

    [Fact]
    public void BatchesHoldTheirRowsPaddedWithTheirMaskAndTypeIds()
    {
        TokenizedText[] inputs =
        [
            new([101, 7, 102]),
            new([101, 5, 6, 7, 8, 102], [0, 0, 0, 1, 1, 1]),
            new([]),
            new([101, 102], [0, 0]),
        ];
        const long pad = 99;
        List<Batch> batches = BatchPlanner.Plan(inputs, new BatchLimits(MaxRows: 2), pad).ToList();
        Assert.Equal([[1, 0], [3, 2]], batches.Select(b => b.Rows));
        foreach (Batch batch in batches)
        {
            Assert.Equal(batch.Rows.Select(r => inputs[r].Ids.Length), batch.Lengths);
            Assert.Equal(Math.Max(1, batch.Lengths.Max()), batch.Length);
            Assert.True(batch.IsPadded);
            for (int b = 0; b < batch.Count; b++)
            {
                TokenizedText input = inputs[batch.Rows[b]];
                for (int i = 0; i < batch.Length; i++)
                {
                    bool real = i < input.Ids.Length;
                    Assert.Equal(real ? input.Ids[i] : pad, batch.InputIds[b * batch.Length + i]);
                    Assert.Equal(real ? 1 : 0, batch.AttentionMask[b * batch.Length + i]);
                    Assert.Equal(real && input.TypeIds is { } t ? t[i] : 0, batch.TokenTypeIds?[b * batch.Length + i] ?? 0);
                }
            }
        }
        Assert.NotNull(batches[0].TokenTypeIds);
        Assert.Null(batches[1].TokenTypeIds);   // all zeros: the model's default, so no tensor

        using var ids = batches[0].InputIdsTensor();
        Assert.Equal([2L, 6L], ids.shape);
        Assert.Equal(batches[0].InputIds, ids.data<long>().ToArray());
    }

    [Fact]
    public void BadRequestsAndLimitsAreTypedErrors()
    {
        var types = Assert.Throws<EncoderKitException>(() => BatchPlanner.Plan([new TokenizedText([1, 2, 3], [0, 0])], new BatchLimits(), 0));
        Assert.Equal("token_type_ids", types.Field);
        Assert.Contains("input 0", types.Message);
        Assert.Equal("batch_size", Assert.Throws<EncoderKitException>(() => BatchPlanner.Plan([1, 2], new BatchLimits(MaxRows: 0))).Field);
        Assert.Equal("max_batch_tokens", Assert.Throws<EncoderKitException>(() => BatchPlanner.Plan([1, 2], new BatchLimits(MaxTokens: 0))).Field);
        Assert.Empty(BatchPlanner.Plan([], new BatchLimits(MaxTokens: 8, MaxRows: 2)));
    }
}
