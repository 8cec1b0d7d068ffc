namespace EncoderKit.Tokenization;

/// <summary>Which sequence loses tokens when a text (or pair) is longer than <see cref="EncodeOptions.MaxLength"/>.</summary>
public enum TruncationStrategy
{
    /// <summary>Take tokens from the longer sequence first (the default, as in Hugging Face).</summary>
    LongestFirst,
    /// <summary>Only the first sequence is shortened; an error if that is not enough.</summary>
    OnlyFirst,
    /// <summary>Only the second sequence is shortened; an error if that is not enough or there is none.</summary>
    OnlySecond,
    /// <summary>Never truncate: <see cref="EncodeOptions.MaxLength"/> then only sets the padding length.</summary>
    DoNotTruncate,
}

/// <summary>Which end of a sequence loses tokens.</summary>
public enum TruncationSide { Right, Left }

/// <summary>How an encoding is padded.</summary>
public enum PaddingStrategy
{
    /// <summary>No padding.</summary>
    None,
    /// <summary>In a batch, to the longest encoding (a single encode is left as is).</summary>
    Longest,
    /// <summary>To <see cref="EncodeOptions.MaxLength"/>.</summary>
    MaxLength,
}

/// <summary>Where padding goes.</summary>
public enum PaddingSide { Right, Left }

/// <summary>
/// How to encode. The default adds special tokens and neither truncates nor pads: nothing is ever cut
/// unless <see cref="MaxLength"/> is set, and then <see cref="Encoding.Truncated"/> says whether it was.
/// </summary>
public sealed record EncodeOptions
{
    public static EncodeOptions Default { get; } = new();

    /// <summary>Add the post-processor's tokens ([CLS] … [SEP], BOS …).</summary>
    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>When set, the most tokens an encoding may have, special tokens included.</summary>
    public int? MaxLength { get; init; }

    public TruncationStrategy Truncation { get; init; } = TruncationStrategy.LongestFirst;

    public TruncationSide TruncationSide { get; init; } = TruncationSide.Right;

    /// <summary>With truncation: how many tokens consecutive <see cref="Encoding.Overflowing"/> windows share.</summary>
    public int Stride { get; init; }

    public PaddingStrategy Padding { get; init; } = PaddingStrategy.None;

    public PaddingSide PaddingSide { get; init; } = PaddingSide.Right;

    /// <summary>Round the padded length up to a multiple of this.</summary>
    public int? PadToMultipleOf { get; init; }

    /// <summary>Truncate to <paramref name="maxLength"/> (longest first).</summary>
    public static EncodeOptions Truncate(int maxLength) => new() { MaxLength = maxLength };
}
