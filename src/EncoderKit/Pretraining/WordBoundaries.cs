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

    /// <summary>Words from MeCab (UniDic short units for the TohokuNLP recipe): a token begins a word when it starts in a different MeCab word than the token before.</summary>
    Mecab,
}

/// <summary>Per token, whether it begins a word: the units whole-word masking chooses as a whole.</summary>
public static class WordBoundaries
{
    /// <summary>
    /// The word-start flags of <paramref name="encoding"/>'s tokens (an encoding of a document without special
    /// tokens). With MeCab, <paramref name="mecabWordStarts"/> are the UTF-16 starts of its words in that document.
    /// </summary>
    public static bool[] Of(Tokenizer tokenizer, Encoding encoding, IReadOnlyList<int>? mecabWordStarts = null)
    {
        var starts = new bool[encoding.Length];
        if (mecabWordStarts is not null)
        {
            int previousWord = -1;
            for (int i = 0; i < starts.Length; i++)
            {
                int word = WordAt(mecabWordStarts, encoding.Offsets[i].Start);
                starts[i] = i == 0 || word != previousWord;
                previousWord = word;
            }
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

    // The index of the MeCab word holding the character at offset: the last word starting at or before it.
    static int WordAt(IReadOnlyList<int> wordStarts, int offset)
    {
        int low = 0, high = wordStarts.Count - 1, found = -1;
        while (low <= high)
        {
            int middle = (low + high) / 2;
            if (wordStarts[middle] <= offset) { found = middle; low = middle + 1; }
            else high = middle - 1;
        }
        return found;
    }
}
