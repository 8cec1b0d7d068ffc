namespace EncoderKit.Runtime;

/// <summary>
/// Which rows run together. Sorted by length (longest first, ties in request order) unless told not to, rows are taken
/// in that order into a batch while the batch's padded size (rows × its longest row) stays within the token budget and
/// its row count within the row limit (and, when asked, its padding within a share of it). A pure function: testable
/// without a model or threads.
/// </summary>
public static class BatchPlanner
{
    /// <summary>
    /// Below this many padded positions a batch is not split to save padding: the matrix products of so few rows lose
    /// more speed than the padding costs.
    /// </summary>
    public const int PaddingFloorTokens = 512;

    /// <returns>Batches of row indices covering every index once; each batch's first row is its longest when sorted.</returns>
    public static IReadOnlyList<int[]> Plan(IReadOnlyList<int> lengths, BatchLimits limits)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentNullException.ThrowIfNull(limits);
        limits.Check();
        IEnumerable<int> order = Enumerable.Range(0, lengths.Count);
        if (limits.SortByLength) order = order.OrderByDescending(i => lengths[i]).ThenBy(i => i);   // OrderBy is stable
        var batches = new List<int[]>();
        var current = new List<int>();
        int longest = 0;
        long real = 0;
        foreach (int row in order)
        {
            int length = Math.Max(1, lengths[row]), padded = Math.Max(longest, length);
            long grown = (long)padded * (current.Count + 1);
            bool full = current.Count == limits.MaxRows || grown > limits.MaxTokens
                || (limits.MaxPaddingShare is { } share && grown >= PaddingFloorTokens && grown - (real + length) > share * grown);
            if (current.Count > 0 && full)
            {
                batches.Add([.. current]);
                current.Clear();
                padded = length;
                real = 0;
            }
            current.Add(row);
            longest = padded;
            real += length;
        }
        if (current.Count > 0) batches.Add([.. current]);
        return batches;
    }

    /// <summary>The request's batches, built one at a time as they are enumerated; the rows are checked first.</summary>
    public static IEnumerable<Batch> Plan(IReadOnlyList<TokenizedText> inputs, BatchLimits limits, long padId)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        for (int i = 0; i < inputs.Count; i++)
        {
            TokenizedText input = inputs[i] ?? throw new ArgumentException($"input {i} is null", nameof(inputs));
            if (input.TypeIds is { } types && types.Length != input.Ids.Length)
                throw new EncoderKitException(ErrorKind.BadInput, $"input {i} has {types.Length} token type ids for {input.Ids.Length} ids", field: "token_type_ids");
        }
        IReadOnlyList<int[]> plan = Plan(inputs.Select(x => x.Ids.Length).ToArray(), limits);
        return plan.Select(rows => new Batch(inputs, rows, padId));
    }

    /// <summary>Token positions the batches compute, padding included.</summary>
    public static long PaddedTokens(IReadOnlyList<int> lengths, IEnumerable<int[]> batches) =>
        batches.Sum(b => (long)b.Length * (b.Length == 0 ? 0 : Math.Max(1, b.Max(i => lengths[i]))));
}
