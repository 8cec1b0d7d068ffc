using System.Text;

namespace EncoderKit.Tokenization.Normalizers;

/// <summary>
/// The normalizer a SentencePiece <c>.model</c> describes (its NormalizerSpec), as the SentencePiece library applies it:
/// the character map by longest match; with <c>remove_extra_whitespaces</c>, leading, trailing and repeated spaces
/// dropped; a dummy ▁ prefix (<c>add_dummy_prefix</c>); spaces escaped as ▁ (<c>escape_whitespaces</c>).
/// </summary>
/// <remarks>
/// The dummy prefix goes only before text that starts the input: when a special token splits the input, the text
/// after it gets none, as in SentencePiece where such a token sits inside one normalized sentence.
/// </remarks>
internal sealed class SentencePieceNormalizer(CharsMap? map, bool addDummyPrefix, bool removeExtraWhitespaces, bool escapeWhitespaces) : INormalizer
{
    const char SpaceSymbol = '\u2581';

    public bool AddDummyPrefix { get; } = addDummyPrefix;

    public void Normalize(NormalizedText text)
    {
        if (text.IsEmpty) return;
        bool atInputStart = text.AlignmentAt(0).Start == 0;
        string s = text.ToString();
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(s);
        // unitOfByte[b]: the UTF-16 index where UTF-8 byte b's char starts (length + 1 entries).
        var unitOfByte = new int[utf8.Length + 1];
        for (int i = 0, b = 0; i < s.Length;)
        {
            int n = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
            int bytes = System.Text.Encoding.UTF8.GetByteCount(s.AsSpan(i, n));
            for (int k = 0; k < bytes; k++) unitOfByte[b + k] = i;
            b += bytes;
            i += n;
        }
        unitOfByte[utf8.Length] = s.Length;

        var chunks = new List<(int StartUnit, int EndUnit, string Normalized)>();
        var results = new List<(int Length, int Value)>();
        for (int b = 0; b < utf8.Length;)
        {
            int length = 0;
            string? normalized = null;
            if (map is not null)
            {
                map.CommonPrefixSearch(utf8.AsSpan(b), results);
                foreach (var (l, v) in results)
                    if (l > length) { length = l; normalized = map.StringAt(v); }
            }
            if (length == 0)
            {
                length = Math.Max(1, System.Text.Encoding.UTF8.GetByteCount(s.AsSpan(unitOfByte[b], CharUnits(s, unitOfByte[b]))));
                normalized = null;
            }
            int su = unitOfByte[b], eu = unitOfByte[Math.Min(b + length, utf8.Length)];
            if (eu <= su) eu = Math.Min(su + CharUnits(s, su), s.Length);
            chunks.Add((su, eu, normalized ?? s[su..eu]));
            b = Math.Max(b + length, FirstByteOf(unitOfByte, eu, b + length));
        }

        var w = text.Rewrite(text.Length + 4);
        int first = 0;
        if (removeExtraWhitespaces)
            while (first < chunks.Count && chunks[first].Normalized == " ") first++;
        if (first == chunks.Count) { w.Commit(); return; }
        if (AddDummyPrefix && atInputStart)
        {
            int at = text.AlignmentAt(chunks[first].StartUnit).Start;
            Space(w, at, at);
        }
        bool previousSpace = removeExtraWhitespaces;
        for (int c = first; c < chunks.Count; c++)
        {
            var (su, eu, normalized) = chunks[c];
            int os = text.AlignmentAt(su).Start, oe = text.AlignmentAt(eu - 1).End;
            var piece = normalized.AsSpan();
            while (previousSpace && piece.Length > 0 && piece[0] == ' ') piece = piece[1..];
            if (piece.Length > 0)
            {
                foreach (char ch in piece)
                {
                    if (ch == ' ') Space(w, os, oe);
                    else w.Append(ch, os, oe);
                }
                previousSpace = piece[^1] == ' ';
            }
            if (!removeExtraWhitespaces) previousSpace = false;
        }
        w.Commit();
        if (removeExtraWhitespaces)
        {
            char space = escapeWhitespaces ? SpaceSymbol : ' ';
            int end = text.Length;
            while (end > 0 && text[end - 1] == space) end--;
            if (end < text.Length)
            {
                var t = text.Rewrite(end);
                for (int i = 0; i < end; i++) t.Keep(i);
                t.Commit();
            }
        }

        void Space(NormalizedText.Writer writer, int os, int oe) => writer.Append(escapeWhitespaces ? SpaceSymbol : ' ', os, oe);
    }

    static int CharUnits(string s, int i) => char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;

    static int FirstByteOf(int[] unitOfByte, int unit, int from)
    {
        int b = from;
        while (b < unitOfByte.Length - 1 && unitOfByte[b] < unit) b++;
        return b;
    }
}
