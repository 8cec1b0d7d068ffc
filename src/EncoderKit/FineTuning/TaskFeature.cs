namespace EncoderKit.FineTuning;

/// <summary>
/// One model input made from an example, with its labels: a tokenised text (or pair), a QA window, or the choices of a
/// multiple-choice question (one row each).
/// </summary>
public sealed class TaskFeature
{
    /// <summary>The example (row of the data file) the feature came from; a long QA context gives several windows.</summary>
    public required int Example { get; init; }

    /// <summary>Token ids: one row, or one per choice.</summary>
    public required int[][] Ids { get; init; }

    public required int[][] TypeIds { get; init; }

    /// <summary>The class id (single-label classification, multiple choice).</summary>
    public long ClassId { get; init; }

    /// <summary>Float targets: a 0/1 per label (multi-label) or the value (regression).</summary>
    public float[]? Targets { get; init; }

    /// <summary>A tag id per token: the first sub-token of each word, -100 elsewhere.</summary>
    public long[]? TokenLabels { get; init; }

    /// <summary>QA: the answer's first and last token in this window, (0, 0) (the CLS token) when it is not in it.</summary>
    public (long Start, long End) Span { get; init; }

    /// <summary>QA: each token's character span in the context, null for question, special and padding tokens.</summary>
    public (int Start, int End)?[]? ContextOffsets { get; init; }

    public int Tokens => Ids.Sum(row => row.Length);
}
