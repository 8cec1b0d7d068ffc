namespace EncoderKit.Pretraining;

/// <summary>
/// One training sequence before masking, padded to its length: ids with the special tokens in place, token types,
/// which positions are special (never masked; padding included), which begin a word, and the NSP label when the
/// sequence is a sentence pair.
/// </summary>
/// <param name="RealLength">Positions before the padding.</param>
/// <param name="NextSentenceLabel">0 when segment B follows A in its document, 1 when B is random; null without NSP.</param>
public sealed record PackedSequence(int[] InputIds, int[] TokenTypeIds, bool[] Special, bool[] WordStart, int RealLength, int? NextSentenceLabel)
{
    public int Length => InputIds.Length;
}
