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
}

/// <summary>Per token, whether it begins a word: the units whole-word masking chooses as a whole.</summary>
public static class WordBoundaries
{
    /// <summary>
    /// The word-start flags of <paramref name="encoding"/>'s tokens (an encoding of a document without special
    /// tokens). With MeCab, <paramref name="mecabWords"/> are its words' [start, end) in that document, in order.
    /// </summary>
    public static bool[] Of(Tokenizer tokenizer, Encoding encoding, IReadOnlyList<(int Start, int End)>? mecabWords = null)
    {
        var starts = new bool[encoding.Length];
        if (mecabWords is not null)
        {
            for (int i = 0; i < starts.Length; i++)
                starts[i] = i == 0 || !Straddles(mecabWords, encoding.Offsets[i].Start);
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
