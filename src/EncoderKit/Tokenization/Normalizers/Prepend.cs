namespace EncoderKit.Tokenization.Normalizers;

/// <summary>{"type": "Prepend", "prepend"}: puts a string before non-empty text; it is aligned like the first char.</summary>
internal sealed class Prepend(string prefix) : INormalizer
{
    public string Prefix { get; } = prefix;

    public void Normalize(NormalizedText text) => Apply(text, Prefix);

    public static void Apply(NormalizedText text, string prefix)
    {
        if (text.IsEmpty) return;
        var (s, e) = text.AlignmentAt(0);
        var w = text.Rewrite(text.Length + prefix.Length);
        foreach (char c in prefix) w.Append(c, s, e);
        for (int i = 0; i < text.Length; i++) w.Keep(i);
        w.Commit();
    }
}
