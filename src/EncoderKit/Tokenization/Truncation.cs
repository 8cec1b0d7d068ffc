namespace EncoderKit.Tokenization;

/// <summary>Shortens one or two encodings to a token budget, as <c>tokenizers</c>' <c>truncate_encodings</c>.</summary>
internal static class Truncation
{
    /// <param name="maxLength">Tokens available for the sequences themselves (special tokens already taken off).</param>
    public static (Encoding First, Encoding? Second) Apply(Encoding first, Encoding? second, int maxLength, EncodeOptions o)
    {
        if (maxLength == 0)
            return (first.Truncate(0, o.Stride, o.TruncationSide), second?.Truncate(0, o.Stride, o.TruncationSide));
        int total = first.Length + (second?.Length ?? 0);
        if (total <= maxLength) return (first, second);
        int toRemove = total - maxLength;
        switch (o.Truncation)
        {
            case TruncationStrategy.LongestFirst when second is null:
                return (first.Truncate(total - toRemove, o.Stride, o.TruncationSide), null);
            case TruncationStrategy.LongestFirst:
            {
                int n1 = first.Length, n2 = second.Length;
                bool swap = n1 > n2;
                if (swap) (n1, n2) = (n2, n1);
                n2 = n1 > maxLength ? n1 : Math.Max(n1, maxLength - n1);
                if (n1 + n2 > maxLength)
                {
                    n1 = maxLength / 2;
                    n2 = n1 + maxLength % 2;
                }
                if (swap) (n1, n2) = (n2, n1);
                return (first.Truncate(n1, o.Stride, o.TruncationSide), second.Truncate(n2, o.Stride, o.TruncationSide));
            }
            case TruncationStrategy.OnlyFirst:
                if (first.Length <= toRemove)
                    throw new EncoderKitException(ErrorKind.BadInput,
                        $"cannot truncate only the first sequence ({first.Length} tokens) by {toRemove} tokens");
                return (first.Truncate(first.Length - toRemove, o.Stride, o.TruncationSide), second);
            case TruncationStrategy.OnlySecond:
                if (second is null) throw new EncoderKitException(ErrorKind.BadInput, "truncation only_second needs a second sequence");
                if (second.Length <= toRemove)
                    throw new EncoderKitException(ErrorKind.BadInput,
                        $"cannot truncate only the second sequence ({second.Length} tokens) by {toRemove} tokens");
                return (first, second.Truncate(second.Length - toRemove, o.Stride, o.TruncationSide));
            default:
                return (first, second);
        }
    }
}
