namespace EncoderKit.Tokenization.Models;

/// <summary>A tokenization model (WordPiece, BPE, Unigram): turns one pre-tokenized word into tokens.</summary>
internal interface ITokenizerModel
{
    /// <summary>Appends the tokens of <paramref name="word"/>; offsets are UTF-16 indices into it.</summary>
    void Tokenize(ReadOnlySpan<char> word, List<Token> output);

    int? TokenToId(string token);

    string? IdToToken(int id);

    /// <summary>Number of entries in the model's vocabulary (without added tokens).</summary>
    int VocabSize { get; }
}
