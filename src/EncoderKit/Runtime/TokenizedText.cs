namespace EncoderKit.Runtime;

/// <summary>An already tokenized input: ids with the special tokens, and their token type ids (null for zeros).</summary>
public sealed record TokenizedText(int[] Ids, int[]? TypeIds = null);
