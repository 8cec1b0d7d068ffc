namespace EncoderKit.Tokenization;

/// <summary>
/// The result of encoding one text (or pair): token ids and everything aligned with them.
/// All arrays have <see cref="Length"/> entries.
/// </summary>
public sealed class Encoding
{
    internal Encoding(int[] ids, int[] typeIds, string[] tokens, int?[] wordIds, (int Start, int End)[] offsets,
        int[] specialTokensMask, int[] attentionMask, IReadOnlyList<Encoding> overflowing,
        IReadOnlyDictionary<int, (int Start, int End)> sequenceRanges, bool truncated)
    {
        Ids = ids;
        TypeIds = typeIds;
        Tokens = tokens;
        WordIds = wordIds;
        Offsets = offsets;
        SpecialTokensMask = specialTokensMask;
        AttentionMask = attentionMask;
        Overflowing = overflowing;
        SequenceRanges = sequenceRanges;
        Truncated = truncated;
    }

    internal static Encoding Empty { get; } = new([], [], [], [], [], [], [], [], new Dictionary<int, (int, int)>(), false);

    public int Length => Ids.Length;

    /// <summary>Token ids.</summary>
    public int[] Ids { get; }

    /// <summary>Token type (segment) ids: 0 for the first sequence, usually 1 for the second.</summary>
    public int[] TypeIds { get; }

    /// <summary>Token strings as the vocabulary spells them (e.g. "##ing", "Ġworld", "▁the").</summary>
    public string[] Tokens { get; }

    /// <summary>UTF-16 <c>[Start, End)</c> of each token in the text it came from (<see cref="SequenceIds"/> says which);
    /// (0, 0) for tokens the post-processor added and for padding.</summary>
    public (int Start, int End)[] Offsets { get; }

    /// <summary>1 for tokens the post-processor added ([CLS], [SEP], BOS...) and padding; 0 otherwise.</summary>
    public int[] SpecialTokensMask { get; }

    /// <summary>1 for real tokens, 0 for padding.</summary>
    public int[] AttentionMask { get; }

    /// <summary>Index of the pre-tokenized word each token belongs to; null for added special tokens and padding.</summary>
    public int?[] WordIds { get; }

    /// <summary>0 or 1: which input sequence each token came from; null for added special tokens and padding.</summary>
    public int?[] SequenceIds => _sequenceIds ??= ComputeSequenceIds();
    int?[]? _sequenceIds;

    /// <summary>When truncation with a stride was asked for: the windows that did not fit, each encoded like this one.</summary>
    public IReadOnlyList<Encoding> Overflowing { get; }

    /// <summary>True when truncation removed tokens from this encoding (the removed tokens are in <see cref="Overflowing"/>).</summary>
    public bool Truncated { get; }

    internal IReadOnlyDictionary<int, (int Start, int End)> SequenceRanges { get; }

    int?[] ComputeSequenceIds()
    {
        var result = new int?[Ids.Length];
        foreach (var (seq, (start, end)) in SequenceRanges)
            for (int i = start; i < end && i < result.Length; i++) result[i] = seq;
        return result;
    }

    internal Encoding With(int[]? typeIds = null, IReadOnlyList<Encoding>? overflowing = null,
        IReadOnlyDictionary<int, (int, int)>? sequenceRanges = null, bool? truncated = null) =>
        new(Ids, typeIds ?? TypeIds, Tokens, WordIds, Offsets, SpecialTokensMask, AttentionMask,
            overflowing ?? Overflowing, sequenceRanges ?? SequenceRanges, truncated ?? Truncated);

    /// <summary>Tokens <c>[start, end)</c> without overflowing parts and sequence ranges.</summary>
    internal Encoding Range(int start, int end) => new(Ids[start..end], TypeIds[start..end], Tokens[start..end],
        WordIds[start..end], Offsets[start..end], SpecialTokensMask[start..end], AttentionMask[start..end], [],
        new Dictionary<int, (int, int)>(), false);

    /// <summary>
    /// Concatenates <paramref name="pair"/> after this one; overflowing parts combine as in <c>tokenizers</c>:
    /// each of ours with the pair and with each of its overflowing parts, then ourselves with each of its parts.
    /// </summary>
    internal Encoding MergeWith(Encoding pair)
    {
        var overflowing = new List<Encoding>();
        foreach (var mine in Overflowing)
        {
            overflowing.Add(mine.MergeWith(pair));
            foreach (var theirs in pair.Overflowing) overflowing.Add(mine.MergeWith(theirs));
        }
        foreach (var theirs in pair.Overflowing) overflowing.Add(MergeWith(theirs));

        int n = Length;
        var ranges = new Dictionary<int, (int, int)>(SequenceRanges);
        foreach (var (seq, (s, e)) in pair.SequenceRanges) ranges[seq] = (n + s, n + e);
        return new Encoding([.. Ids, .. pair.Ids], [.. TypeIds, .. pair.TypeIds], [.. Tokens, .. pair.Tokens],
            [.. WordIds, .. pair.WordIds], [.. Offsets, .. pair.Offsets], [.. SpecialTokensMask, .. pair.SpecialTokensMask],
            [.. AttentionMask, .. pair.AttentionMask], overflowing, ranges, Truncated || pair.Truncated);
    }

    internal static Encoding Merge(IReadOnlyList<Encoding> parts)
    {
        if (parts.Count == 0) return Empty;
        var result = parts[0];
        for (int i = 1; i < parts.Count; i++) result = result.MergeWith(parts[i]);
        return result;
    }

    /// <summary>
    /// Keeps <paramref name="maxLength"/> tokens (from the right or left end) and moves the rest, in windows
    /// overlapping by <paramref name="stride"/> tokens, into <see cref="Overflowing"/>; as <c>Encoding::truncate</c>.
    /// </summary>
    internal Encoding Truncate(int maxLength, int stride, TruncationSide side)
    {
        int len = Length;
        if (maxLength >= len) return this;
        if (maxLength == 0) return new Encoding([], [], [], [], [], [], [], [this], new Dictionary<int, (int, int)>(), true);
        if (stride >= maxLength)
            throw new EncoderKitException(ErrorKind.BadInput,
                $"stride {stride} must be smaller than the length left for the text ({maxLength} tokens after the special tokens)");
        int step = maxLength - stride;
        var parts = new List<(int Start, int End)>();
        if (side == TruncationSide.Right)
        {
            for (int start = 0; start < len; start += step)
            {
                int stop = Math.Min(start + maxLength, len);
                parts.Add((start, stop));
                if (stop == len) break;
            }
        }
        else
        {
            for (int last = len - 1; last >= 0; last -= step)
            {
                int stop = last + 1;
                int start = Math.Max(stop - maxLength, 0);
                parts.Add((start, stop));
                if (start == 0) break;
            }
        }
        var overflow = new List<Encoding>(parts.Count - 1);
        for (int i = 1; i < parts.Count; i++) overflow.Add(Range(parts[i].Start, parts[i].End).With(truncated: true));
        return Range(parts[0].Start, parts[0].End).With(overflowing: overflow, truncated: true);
    }

    /// <summary>Pads (itself and its overflowing parts) to <paramref name="length"/> tokens.</summary>
    internal Encoding Pad(int length, int padId, int padTypeId, string padToken, PaddingSide side)
    {
        var overflowing = Overflowing.Count == 0 ? Overflowing
            : Overflowing.Select(o => o.Pad(length, padId, padTypeId, padToken, side)).ToList();
        if (Length >= length) return ReferenceEquals(overflowing, Overflowing) ? this : With(overflowing: overflowing);
        int n = length - Length;
        T[] Fill<T>(T[] a, T v) => side == PaddingSide.Right ? [.. a, .. Enumerable.Repeat(v, n)] : [.. Enumerable.Repeat(v, n), .. a];
        var ranges = side == PaddingSide.Right ? SequenceRanges
            : SequenceRanges.ToDictionary(kv => kv.Key, kv => (kv.Value.Start + n, kv.Value.End + n));
        return new Encoding(Fill(Ids, padId), Fill(TypeIds, padTypeId), Fill(Tokens, padToken), Fill(WordIds, (int?)null),
            Fill(Offsets, (0, 0)), Fill(SpecialTokensMask, 1), Fill(AttentionMask, 0), overflowing, ranges, Truncated);
    }
}
