using EncoderKit.Tokenization.Normalizers;
using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization.PreTokenizers;

/// <summary>{"type": "Whitespace"}: runs of word chars and runs of other non-space chars (<c>\w+|[^\w\s]+</c>); spaces dropped.</summary>
internal sealed class WhitespacePreTokenizer : IPreTokenizer
{
    public void PreTokenize(PreTokenizedText text) => text.SplitEach((t, output) =>
    {
        int start = -1, kind = 0;   // kind: 1 word, 2 other
        for (int i = 0; i < t.Length;)
        {
            int r = t.RuneAt(i, out int n);
            int k = UnicodeText.IsWhiteSpace(r) ? 0 : UnicodeText.IsWordChar(r) ? 1 : 2;
            if (k != kind)
            {
                if (kind != 0) output.Add(t.Slice(start, i));
                start = i;
                kind = k;
            }
            i += n;
        }
        if (kind != 0) output.Add(t.Slice(start, t.Length));
    });
}

/// <summary>{"type": "WhitespaceSplit"}: splits on whitespace, which is dropped.</summary>
internal sealed class WhitespaceSplit : IPreTokenizer
{
    public void PreTokenize(PreTokenizedText text) => text.SplitEach((t, output) =>
        Splitter.Apply(t, Splitter.FindChars(t, UnicodeText.IsWhiteSpace), SplitBehavior.Removed, output));
}

/// <summary>{"type": "Punctuation", "behavior"}: splits on ASCII or Unicode punctuation.</summary>
internal sealed class PunctuationPreTokenizer(SplitBehavior behavior) : IPreTokenizer
{
    public void PreTokenize(PreTokenizedText text) => text.SplitEach((t, output) =>
        Splitter.Apply(t, Splitter.FindChars(t, UnicodeText.IsBertPunctuation), behavior, output));
}

/// <summary>{"type": "Digits", "individual_digits"}: isolates numeric chars, one by one or in runs.</summary>
internal sealed class DigitsPreTokenizer(bool individualDigits) : IPreTokenizer
{
    public void PreTokenize(PreTokenizedText text) => text.SplitEach((t, output) =>
        Splitter.Apply(t, Splitter.FindChars(t, UnicodeText.IsNumber), individualDigits ? SplitBehavior.Isolated : SplitBehavior.Contiguous, output));
}

/// <summary>{"type": "CharDelimiterSplit", "delimiter"}: splits on one char, which is dropped.</summary>
internal sealed class CharDelimiterSplit(int delimiter) : IPreTokenizer
{
    public void PreTokenize(PreTokenizedText text) => text.SplitEach((t, output) =>
        Splitter.Apply(t, Splitter.FindChars(t, r => r == delimiter), SplitBehavior.Removed, output));
}

/// <summary>{"type": "Split", "pattern", "behavior", "invert"}: splits on a string or regex.</summary>
internal sealed class SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public void PreTokenize(PreTokenizedText text) => text.SplitEach((t, output) =>
        Splitter.Apply(t, pattern.Pieces(t.ToString(), invert), behavior, output));
}

/// <summary>
/// {"type": "Metaspace", "replacement", "prepend_scheme" | "add_prefix_space", "split"}: spaces become the replacement
/// char (▁), which is also prepended (always, or only to the split at the start of the text), then optionally split
/// before each ▁.
/// </summary>
internal sealed class Metaspace(char replacement, MetaspacePrepend prepend, bool split) : IPreTokenizer
{
    public char Replacement { get; } = replacement;
    public MetaspacePrepend PrependScheme { get; } = prepend;

    public void PreTokenize(PreTokenizedText text) => text.SplitEach((t, output) =>
    {
        Replace.Apply(t, TextPattern.Literal(" "), Replacement.ToString());
        bool prependHere = PrependScheme == MetaspacePrepend.Always
            || (PrependScheme == MetaspacePrepend.First && t.Length > 0 && t.AlignmentAt(0).Start == 0);
        if (prependHere && (t.Length == 0 || t[0] != Replacement)) Prepend.Apply(t, Replacement.ToString());
        if (split) Splitter.Apply(t, Splitter.FindChars(t, r => r == Replacement), SplitBehavior.MergedWithNext, output);
        else output.Add(t);
    });
}

internal enum MetaspacePrepend { Always, First, Never }
