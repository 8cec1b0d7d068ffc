using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization.Normalizers;

/// <summary>{"type": "Lowercase"}: Rust's full lowercase mapping, each produced char aligned like its source.</summary>
internal sealed class Lowercase : INormalizer
{
    public void Normalize(NormalizedText text) => Apply(text);

    public static void Apply(NormalizedText text)
    {
        bool any = false;
        foreach (char c in text.Span)
            if (c >= 0x80 || c is >= 'A' and <= 'Z') { any = true; break; }
        if (!any) return;
        var w = text.Rewrite(text.Length + 4);
        Span<int> lower = stackalloc int[2];
        for (int i = 0; i < text.Length;)
        {
            int r = text.RuneAt(i, out int n);
            int k = UnicodeText.ToLower(r, lower);
            for (int j = 0; j < k; j++) w.AppendLike(lower[j], i);
            i += n;
        }
        w.Commit();
    }
}
