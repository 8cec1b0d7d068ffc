using EncoderKit.Tokenization;
using EncoderKit.Tokenization.Models;

namespace EncoderKit.Pretraining;

/// <summary>Where whole-word masking takes its word units from.</summary>
public enum WordSegmentation
{
    /// <summary>
    /// The tokenizer's own marks: a WordPiece token starting with its continuing prefix (`##`) continues the word before
    /// it (DataCollatorForWholeWordMask's rule); for SentencePiece and byte-level BPE a token starting with `▁` or `Ġ`
    /// begins a word and any other continues one.
    /// </summary>
    Tokenizer,

    /// <summary>
    /// Words from MeCab (UniDic short units for the TohokuNLP recipe): a token begins a unit unless a MeCab word straddles
    /// its start, so a word split across tokens is masked whole, and tokens a word ends inside join the next unit.
    /// </summary>
    Mecab,

    /// <summary>
    /// Words the corpus marks itself (text segmented offline, e.g. Japanese through MeCab -Owakati): words are separated
    /// by spaces, which are removed before tokenization; then as <see cref="Mecab"/>, a token begins a unit unless a word
    /// straddles its start.
    /// </summary>
    PreSegmented,
}

/// <summary>Per token, whether it begins a word: the units whole-word masking chooses as a whole.</summary>
public static class WordBoundaries
{
    /// <summary>
    /// The word-start flags of <paramref name="encoding"/>'s tokens (an encoding of a document without special
    /// tokens). With words from a segmenter (MeCab, or <see cref="RemoveSpaces"/>), <paramref name="words"/> are their
    /// [start, end) in that document, in order; without, the tokenizer's marks decide.
    /// </summary>
    public static bool[] Of(Tokenizer tokenizer, Encoding encoding, IReadOnlyList<(int Start, int End)>? words = null)
    {
        var starts = new bool[encoding.Length];
        if (words is not null)
        {
            for (int i = 0; i < starts.Length; i++)
                starts[i] = i == 0 || !Straddles(words, encoding.Offsets[i].Start);
            return starts;
        }
        string? continuingPrefix = tokenizer.Model is WordPiece wordPiece ? wordPiece.ContinuingSubwordPrefix : null;
        for (int i = 0; i < starts.Length; i++)
        {
            string token = encoding.Tokens[i];
            starts[i] = i == 0 || encoding.SpecialTokensMask[i] == 1 || (continuingPrefix is not null
                ? !token.StartsWith(continuingPrefix, StringComparison.Ordinal)
                : token.StartsWith('▁') || token.StartsWith('Ġ'));
        }
        return starts;
    }

    /// <summary>
    /// A pre-segmented text (<see cref="WordSegmentation.PreSegmented"/>) without its spaces (U+0020), and its words:
    /// the runs of characters between spaces and other whitespace, as [start, end) in the text without spaces. Other
    /// whitespace (a paragraph's newlines) stays in the text but belongs to no word.
    /// </summary>
    public static (string Text, List<(int Start, int End)> Words) RemoveSpaces(string segmented)
    {
        var text = new System.Text.StringBuilder(segmented.Length);
        var words = new List<(int Start, int End)>();
        int wordStart = -1;
        foreach (char c in segmented)
        {
            if (char.IsWhiteSpace(c))
            {
                if (wordStart >= 0) words.Add((wordStart, text.Length));
                wordStart = -1;
                if (c != ' ') text.Append(c);
                continue;
            }
            if (wordStart < 0) wordStart = text.Length;
            text.Append(c);
        }
        if (wordStart >= 0) words.Add((wordStart, text.Length));
        return (text.ToString(), words);
    }

    // Whether a word begins before offset and ends after it: the last word starting before offset decides (words do not overlap).
    static bool Straddles(IReadOnlyList<(int Start, int End)> words, int offset)
    {
        int low = 0, high = words.Count - 1, found = -1;
        while (low <= high)
        {
            int middle = (low + high) / 2;
            if (words[middle].Start < offset) { found = middle; low = middle + 1; }
            else high = middle - 1;
        }
        return found >= 0 && words[found].End > offset;
    }
}
