namespace EncoderKit.Runtime;

/// <summary>How <see cref="BatchPlanner"/> packs rows into batches.</summary>
/// <param name="MaxTokens">
/// Padded-token budget: a batch's row count × its longest row stays within it (a single row longer than the budget
/// still runs, alone). Null: no budget.
/// </param>
/// <param name="MaxRows">Rows per batch at most; null: no limit.</param>
/// <param name="SortByLength">
/// Longest first, so rows of similar length share a batch and little is spent on padding; false keeps request order.
/// </param>
public sealed record BatchLimits(int? MaxTokens = null, int? MaxRows = null, bool SortByLength = true)
{
    internal void Check()
    {
        if (MaxRows is < 1) throw new EncoderKitException(ErrorKind.BadInput, $"batch size must be at least 1, got {MaxRows}", field: "batch_size");
        if (MaxTokens is < 1) throw new EncoderKitException(ErrorKind.BadInput, $"the batch token budget must be at least 1, got {MaxTokens}", field: "max_batch_tokens");
    }
}
