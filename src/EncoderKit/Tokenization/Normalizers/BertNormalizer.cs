using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization.Normalizers;

/// <summary>
/// {"type": "BertNormalizer", "clean_text", "handle_chinese_chars", "strip_accents", "lowercase"}: in that order,
/// drop NUL, U+FFFD and control chars and turn whitespace into ' '; surround CJK ideographs with spaces;
/// strip accents (NFD, then drop Mn) when <c>strip_accents</c> is true, or null and lowercasing; lowercase.
/// </summary>
internal sealed class BertNormalizer(bool cleanText, bool handleChineseChars, bool? stripAccents, bool lowercase) : INormalizer
{
    public bool CleanText { get; } = cleanText;
    public bool HandleChineseChars { get; } = handleChineseChars;
    public bool StripAccents { get; } = stripAccents ?? lowercase;
    public bool Lowercase { get; } = lowercase;

    public void Normalize(NormalizedText text)
    {
        if (IsPlainAscii(text)) return;
        if (CleanText) Clean(text);
        if (HandleChineseChars) SpaceChinese(text);
        if (StripAccents) Normalizers.StripAccents.Apply(text);
        if (Lowercase) Normalizers.Lowercase.Apply(text);
    }

    /// <summary>Fast path: printable ASCII (and, when not lowercasing, no capitals to care about) needs nothing.</summary>
    bool IsPlainAscii(NormalizedText text)
    {
        foreach (char c in text.Span)
        {
            if (c >= 0x7F || (c < 0x20 && CleanText)) return false;
            if (Lowercase && c is >= 'A' and <= 'Z') return false;
        }
        return true;
    }

    static void Clean(NormalizedText text)
    {
        var w = text.Rewrite();
        for (int i = 0; i < text.Length;)
        {
            int r = text.RuneAt(i, out int n);
            if (r == 0 || r == 0xFFFD || UnicodeText.IsBertControl(r)) { i += n; continue; }
            if (UnicodeText.IsBertWhiteSpace(r)) w.AppendLike(' ', i);
            else for (int k = 0; k < n; k++) w.Keep(i + k);
            i += n;
        }
        w.Commit();
    }

    static void SpaceChinese(NormalizedText text)
    {
        bool any = false;
        for (int i = 0; i < text.Length && !any;)
        {
            any = UnicodeText.IsChineseChar(text.RuneAt(i, out int n));
            i += n;
        }
        if (!any) return;
        var w = text.Rewrite(text.Length * 2);
        for (int i = 0; i < text.Length;)
        {
            int r = text.RuneAt(i, out int n);
            if (UnicodeText.IsChineseChar(r))
            {
                // The reference aligns the leading space with the previous char; spaces never reach a token.
                if (i > 0) w.AppendLike(' ', i - 1); else w.Append(' ', 0, 0);
                for (int k = 0; k < n; k++) w.Keep(i + k);
                w.AppendLike(' ', i);
            }
            else for (int k = 0; k < n; k++) w.Keep(i + k);
            i += n;
        }
        w.Commit();
    }
}
