namespace EncoderKit.Modeling;

/// <summary>Whether a forward pass computes the padding positions of a batch.</summary>
public enum BatchExecution
{
    /// <summary>Unpadded when it pays: inference (fp32 or bf16) once enough of the batch is padding (<see cref="EncoderNetwork.PackFromPaddingShare"/>).</summary>
    Auto,
    /// <summary>Every position of [B, L], padding included.</summary>
    Padded,
    /// <summary>
    /// Real tokens only, as one [T, H] stream with attention per sequence, whenever the mask is right padding (real
    /// tokens, then padding, in every row; otherwise padded). Outputs come back as [B, L, …] with zeros at padding.
    /// </summary>
    Unpadded,
}
