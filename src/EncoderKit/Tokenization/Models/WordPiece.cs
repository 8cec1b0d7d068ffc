namespace EncoderKit.Tokenization.Models;

/// <summary>
/// {"type": "WordPiece", "unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"}:
/// greedy longest-match-first from the left; a word with a piece not in the vocabulary, or longer than
/// <c>max_input_chars_per_word</c> code points, becomes one unknown token spanning the word.
/// </summary>
internal sealed class WordPiece : ITokenizerModel
{
    readonly Vocabulary _vocab;
    // Pieces that follow the continuing prefix, keyed without it: "##ing" is found as "ing".
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuations;
    readonly int _unkId;

    public WordPiece(Vocabulary vocab, string unkToken, string continuingSubwordPrefix, int maxInputCharsPerWord, string? file = null)
    {
        _vocab = vocab;
        UnkToken = unkToken;
        ContinuingSubwordPrefix = continuingSubwordPrefix;
        MaxInputCharsPerWord = maxInputCharsPerWord;
        _unkId = vocab[unkToken] ?? throw new EncoderKitException(ErrorKind.BadTokenizer,
            $"the unknown token \"{unkToken}\" is not in the vocabulary", file, "model.unk_token");
        var continuations = new Dictionary<string, int>();
        foreach (var (token, id) in vocab.Ids)
            if (token.StartsWith(continuingSubwordPrefix, StringComparison.Ordinal))
                continuations[token[continuingSubwordPrefix.Length..]] = id;
        _continuations = continuations.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public string UnkToken { get; }
    public string ContinuingSubwordPrefix { get; }
    public int MaxInputCharsPerWord { get; }
    public Vocabulary Vocab => _vocab;
    public int VocabSize => _vocab.Count;
    public int? TokenToId(string token) => _vocab[token];
    public string? IdToToken(int id) => _vocab.Token(id);

    public void Tokenize(ReadOnlySpan<char> word, List<Token> output)
    {
        if (CodePoints(word) > MaxInputCharsPerWord)
        {
            output.Add(new Token(_unkId, UnkToken, 0, word.Length));
            return;
        }
        int first = output.Count;
        int start = 0;
        while (start < word.Length)
        {
            int end = word.Length;
            int id = -1;
            while (start < end)
            {
                var piece = word[start..end];
                if (start == 0 ? _vocab.TryGet(piece, out id) : _continuations.TryGetValue(piece, out id)) break;
                id = -1;
                end -= end - 1 > start && char.IsLowSurrogate(word[end - 1]) && char.IsHighSurrogate(word[end - 2]) ? 2 : 1;
            }
            if (id < 0)
            {
                output.RemoveRange(first, output.Count - first);
                output.Add(new Token(_unkId, UnkToken, 0, word.Length));
                return;
            }
            output.Add(new Token(id, _vocab.TokenOf(id), start, end));
            start = end;
        }
    }

    static int CodePoints(ReadOnlySpan<char> s)
    {
        int n = s.Length;
        for (int i = 0; i + 1 < s.Length; i++)
            if (char.IsHighSurrogate(s[i]) && char.IsLowSurrogate(s[i + 1])) { n--; i++; }
        return n;
    }
}
