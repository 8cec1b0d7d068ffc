using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization.Normalizers;

/// <summary>{"type": "Strip", "strip_left", "strip_right"}: removes leading / trailing whitespace.</summary>
internal sealed class Strip(bool left, bool right) : INormalizer
{
    public void Normalize(NormalizedText text)
    {
        int start = 0, end = text.Length;
        if (left) while (start < end && UnicodeText.IsWhiteSpace(text.RuneAt(start, out int n))) start += n;
        if (right)
            while (end > start)
            {
                int k = end - 1;
                if (k > start && char.IsLowSurrogate(text[k]) && char.IsHighSurrogate(text[k - 1])) k--;
                if (!UnicodeText.IsWhiteSpace(text.RuneAt(k, out _))) break;
                end = k;
            }
        if (start == 0 && end == text.Length) return;
        var w = text.Rewrite(end - start);
        for (int i = start; i < end; i++) w.Keep(i);
        w.Commit();
    }
}

/// <summary>
/// {"type": "Replace", "pattern", "content"}: every match becomes <c>content</c>, whose chars are aligned like the
/// last char of the match (as the reference does).
/// </summary>
internal sealed class Replace(TextPattern pattern, string content) : INormalizer
{
    public void Normalize(NormalizedText text) => Apply(text, pattern, content);

    public static void Apply(NormalizedText text, TextPattern pattern, string content)
    {
        var matches = pattern.Matches(text.ToString());
        if (matches.Count == 0) return;
        var w = text.Rewrite(text.Length + matches.Count * content.Length);
        int last = 0;
        foreach (var (s, e) in matches)
        {
            for (int i = last; i < s; i++) w.Keep(i);
            var (os, oe) = text.AlignmentAt(e - 1);
            foreach (char c in content) w.Append(c, os, oe);
            last = e;
        }
        for (int i = last; i < text.Length; i++) w.Keep(i);
        w.Commit();
    }
}

/// <summary>{"type": "ByteLevel"} as a normalizer: maps UTF-8 bytes to GPT-2's byte alphabet.</summary>
internal sealed class ByteLevelNormalizer : INormalizer
{
    public void Normalize(NormalizedText text) => PreTokenizers.ByteLevel.MapBytes(text);
}

/// <summary>
/// {"type": "Nmt"}: SentencePiece's NMT clean-up: drops ASCII control chars (but tab, newlines, form feed) and DEL,
/// U+008F, U+009F; turns tab, newlines, form feed, U+1680, U+200B–U+200F, U+2028, U+2029, U+2581, U+FEFF and
/// U+FFFD into spaces.
/// </summary>
internal sealed class Nmt : INormalizer
{
    public void Normalize(NormalizedText text)
    {
        var w = text.Rewrite();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is >= '\u0001' and <= '\u0008' or '\u000B' or >= '\u000E' and <= '\u001F' or '\u007F' or '\u008F' or '\u009F') continue;
            bool space = c is '\t' or '\n' or '\f' or '\r' or '\u1680' or >= '\u200B' and <= '\u200F' or '\u2028' or '\u2029'
                or '\u2581' or '\uFEFF' or '\uFFFD';
            if (space) { var (s, e) = text.AlignmentAt(i); w.Append(' ', s, e); }
            else w.Keep(i);
        }
        w.Commit();
    }
}
