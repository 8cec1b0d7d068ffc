using System.Text;

namespace EncoderKit.Tokenization.Decoders;

/// <summary>
/// {"type": "WordPiece", "prefix", "cleanup"}: joins "##" continuations to the previous token, puts a space
/// before every other token but the first, and with <c>cleanup</c> undoes the spaces BERT's tokenization adds
/// before punctuation and English contractions.
/// </summary>
internal sealed class WordPieceDecoder(string prefix, bool cleanup) : IDecoder
{
    public string Prefix { get; } = prefix;
    public bool Cleanup { get; } = cleanup;

    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i];
            if (i != 0) t = t.StartsWith(Prefix, StringComparison.Ordinal) ? t[Prefix.Length..] : " " + t;
            result.Add(Cleanup ? CleanupSpaces(t) : t);
        }
        return result;
    }

    /// <summary>The reference's clean-up, in its order.</summary>
    internal static string CleanupSpaces(string s)
    {
        if (s.IndexOf(' ') < 0) return s;
        var b = new StringBuilder(s);
        b.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
            .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" do not", " don't").Replace(" 's", "'s")
            .Replace(" 've", "'ve").Replace(" 're", "'re");
        return b.ToString();
    }
}
