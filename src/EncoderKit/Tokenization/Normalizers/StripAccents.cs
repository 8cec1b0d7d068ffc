using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization.Normalizers;

/// <summary>
/// {"type": "StripAccents"}: drops nonspacing marks (Mn). BertNormalizer applies NFD first; the standalone
/// normalizer does not (tokenizer.json files put an NFD before it themselves).
/// </summary>
internal sealed class StripAccents : INormalizer
{
    public void Normalize(NormalizedText text) => DropMarks(text);

    /// <summary>BertNormalizer's accent stripping: NFD, then drop Mn.</summary>
    public static void Apply(NormalizedText text)
    {
        UnicodeNormalization.Apply(text, compatibility: false, compose: false);
        DropMarks(text);
    }

    static void DropMarks(NormalizedText text)
    {
        bool any = false;
        foreach (char c in text.Span) if (c >= 0x300) { any = true; break; }
        if (!any) return;
        var w = text.Rewrite();
        for (int i = 0; i < text.Length;)
        {
            int r = text.RuneAt(i, out int n);
            if (!UnicodeText.IsNonSpacingMark(r)) for (int k = 0; k < n; k++) w.Keep(i + k);
            i += n;
        }
        w.Commit();
    }
}
