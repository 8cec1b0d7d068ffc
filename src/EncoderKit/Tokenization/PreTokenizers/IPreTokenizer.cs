namespace EncoderKit.Tokenization.PreTokenizers;

/// <summary>A pre-tokenization stage: splits (and may rewrite) the splits that have no tokens yet.</summary>
internal interface IPreTokenizer
{
    void PreTokenize(PreTokenizedText text);
}

/// <summary>{"type": "Sequence", "pretokenizers": [...]}: each in turn.</summary>
internal sealed class PreTokenizerSequence(IReadOnlyList<IPreTokenizer> preTokenizers) : IPreTokenizer
{
    public IReadOnlyList<IPreTokenizer> PreTokenizers { get; } = preTokenizers;

    public void PreTokenize(PreTokenizedText text)
    {
        foreach (var p in PreTokenizers) p.PreTokenize(text);
    }
}
