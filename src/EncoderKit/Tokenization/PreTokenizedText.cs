namespace EncoderKit.Tokenization;

/// <summary>A token as a model (or the added vocabulary) produces it: offsets are into the split's normalized text.</summary>
internal readonly record struct Token(int Id, string Value, int Start, int End);

/// <summary>One piece of the input after pre-tokenization: its text, and its tokens once known.</summary>
internal sealed class Split(NormalizedText text, Token[]? tokens = null)
{
    public NormalizedText Text { get; set; } = text;

    /// <summary>Set for added tokens found in the text (and once the model has run); such splits are not split further.</summary>
    public Token[]? Tokens { get; set; } = tokens;
}

/// <summary>What a pre-tokenizer does with the delimiters it finds (the <c>behavior</c> of <c>Split</c>).</summary>
internal enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

/// <summary>The input as a list of splits (<c>PreTokenizedString</c> in <c>tokenizers</c>).</summary>
internal sealed class PreTokenizedText
{
    public List<Split> Splits { get; } = new();

    /// <summary>
    /// Replaces every split that has no tokens yet by the pieces <paramref name="split"/> writes into the list
    /// it is given; empty pieces are dropped, as <c>tokenizers</c> does.
    /// </summary>
    public void SplitEach(Action<NormalizedText, List<NormalizedText>> split)
    {
        var result = new List<Split>(Splits.Count * 4);
        var pieces = new List<NormalizedText>();
        foreach (var s in Splits)
        {
            if (s.Tokens is not null) { result.Add(s); continue; }
            pieces.Clear();
            split(s.Text, pieces);
            foreach (var p in pieces)
                if (!p.IsEmpty) result.Add(new Split(p));
        }
        Splits.Clear();
        Splits.AddRange(result);
    }

    /// <summary>Applies <paramref name="transform"/> to the text of every split that has no tokens yet.</summary>
    public void TransformEach(Action<NormalizedText> transform)
    {
        foreach (var s in Splits)
            if (s.Tokens is null) transform(s.Text);
    }
}

/// <summary>Turns a list of (range, is-delimiter) pieces into split texts, honouring a <see cref="SplitBehavior"/>.</summary>
internal static class Splitter
{
    /// <summary>
    /// <paramref name="matches"/> covers the text in order: each (start, end, isMatch). Applies
    /// <paramref name="behavior"/> and appends the resulting non-removed slices to <paramref name="output"/>.
    /// </summary>
    public static void Apply(NormalizedText text, List<(int Start, int End, bool IsMatch)> matches, SplitBehavior behavior, List<NormalizedText> output)
    {
        var pieces = new List<(int Start, int End, bool Remove)>(matches.Count);
        bool previousMatch = false;
        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var m in matches) pieces.Add((m.Start, m.End, false));
                break;
            case SplitBehavior.Removed:
                foreach (var m in matches) pieces.Add((m.Start, m.End, m.IsMatch));
                break;
            case SplitBehavior.Contiguous:
                foreach (var m in matches)
                {
                    if (m.IsMatch == previousMatch && pieces.Count > 0) pieces[^1] = (pieces[^1].Start, m.End, false);
                    else pieces.Add((m.Start, m.End, false));
                    previousMatch = m.IsMatch;
                }
                break;
            case SplitBehavior.MergedWithPrevious:
                foreach (var m in matches)
                {
                    if (m.IsMatch && !previousMatch && pieces.Count > 0) pieces[^1] = (pieces[^1].Start, m.End, false);
                    else pieces.Add((m.Start, m.End, false));
                    previousMatch = m.IsMatch;
                }
                break;
            case SplitBehavior.MergedWithNext:
                for (int i = matches.Count - 1; i >= 0; i--)
                {
                    var m = matches[i];
                    if (m.IsMatch && !previousMatch && pieces.Count > 0) pieces[^1] = (m.Start, pieces[^1].End, false);
                    else pieces.Add((m.Start, m.End, false));
                    previousMatch = m.IsMatch;
                }
                pieces.Reverse();
                break;
        }
        foreach (var p in pieces)
            if (!p.Remove && p.End > p.Start) output.Add(text.Slice(p.Start, p.End));
    }

    /// <summary>Each code point for which <paramref name="isDelimiter"/> holds is its own match (as <c>tokenizers</c>' char patterns).</summary>
    public static List<(int Start, int End, bool IsMatch)> FindChars(NormalizedText text, Func<int, bool> isDelimiter)
    {
        var matches = new List<(int, int, bool)>();
        int last = 0;
        for (int i = 0; i < text.Length;)
        {
            int r = text.RuneAt(i, out int n);
            if (isDelimiter(r))
            {
                if (last < i) matches.Add((last, i, false));
                matches.Add((i, i + n, true));
                last = i + n;
            }
            i += n;
        }
        if (last < text.Length || matches.Count == 0) matches.Add((last, text.Length, false));
        return matches;
    }
}
