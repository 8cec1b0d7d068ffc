namespace EncoderKit.Tokenization.Normalizers;

/// <summary>A normalization stage: rewrites the text in place, keeping every unit's alignment to the original.</summary>
internal interface INormalizer
{
    void Normalize(NormalizedText text);
}

/// <summary>{"type": "Sequence", "normalizers": [...]}: each in turn.</summary>
internal sealed class NormalizerSequence(IReadOnlyList<INormalizer> normalizers) : INormalizer
{
    public IReadOnlyList<INormalizer> Normalizers { get; } = normalizers;

    public void Normalize(NormalizedText text)
    {
        foreach (var n in Normalizers) n.Normalize(text);
    }
}
