using EncoderKit.Tokenization.Unicode;

namespace EncoderKit.Tokenization.Normalizers;

/// <summary>{"type": "NFD" | "NFKD" | "NFC" | "NFKC"}, from our own Unicode tables (see UnicodeTables).</summary>
internal sealed class UnicodeNormalizer(bool compatibility, bool compose) : INormalizer
{
    public bool Compatibility { get; } = compatibility;
    public bool Compose { get; } = compose;

    public void Normalize(NormalizedText text) => UnicodeNormalization.Apply(text, Compatibility, Compose);
}
