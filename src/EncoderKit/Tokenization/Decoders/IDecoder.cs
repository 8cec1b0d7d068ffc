namespace EncoderKit.Tokenization.Decoders;

/// <summary>Turns token strings back into text pieces (<c>decode_chain</c> in <c>tokenizers</c>); the pieces are then concatenated.</summary>
internal interface IDecoder
{
    List<string> DecodeChain(List<string> tokens);
}

/// <summary>{"type": "Sequence", "decoders": [...]}: each decoder's pieces feed the next.</summary>
internal sealed class DecoderSequence(IReadOnlyList<IDecoder> decoders) : IDecoder
{
    public IReadOnlyList<IDecoder> Decoders { get; } = decoders;

    public List<string> DecodeChain(List<string> tokens)
    {
        foreach (var d in Decoders) tokens = d.DecodeChain(tokens);
        return tokens;
    }
}
