using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization.PreTokenizers;

/// <summary>
/// {"type": "BertPreTokenizer"}: splits on whitespace (dropped), then isolates every punctuation char
/// (ASCII punctuation or Unicode P*). Done in one pass; the result equals the reference's two passes.
/// </summary>
internal sealed class BertPreTokenizer : IPreTokenizer
{
    public void PreTokenize(PreTokenizedText text) => text.SplitEach(Split);

    static void Split(NormalizedText t, List<NormalizedText> output)
    {
        int wordStart = -1;
        for (int i = 0; i < t.Length;)
        {
            int r = t.RuneAt(i, out int n);
            if (UnicodeText.IsWhiteSpace(r))
            {
                if (wordStart >= 0) { output.Add(t.Slice(wordStart, i)); wordStart = -1; }
            }
            else if (UnicodeText.IsBertPunctuation(r))
            {
                if (wordStart >= 0) { output.Add(t.Slice(wordStart, i)); wordStart = -1; }
                output.Add(t.Slice(i, i + n));
            }
            else if (wordStart < 0) wordStart = i;
            i += n;
        }
        if (wordStart >= 0) output.Add(t.Slice(wordStart, t.Length));
    }
}
