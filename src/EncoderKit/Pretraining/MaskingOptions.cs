namespace EncoderKit.Pretraining;

/// <summary>
/// What the MLM collator masks: each non-special token (or word) is chosen with <see cref="MlmProbability"/>; a chosen
/// token becomes the mask token with <see cref="MaskReplaceProbability"/>, a random token with
/// <see cref="RandomReplaceProbability"/>, and stays as it is otherwise (transformers' mlm_probability,
/// mask_replace_prob, random_replace_prob).
/// </summary>
public sealed record MaskingOptions
{
    public double MlmProbability { get; init; } = 0.15;
    public double MaskReplaceProbability { get; init; } = 0.8;
    public double RandomReplaceProbability { get; init; } = 0.1;

    /// <summary>Choose whole words (DataCollatorForWholeWordMask) rather than single tokens.</summary>
    public bool WholeWordMasking { get; init; }

    /// <exception cref="EncoderKitException">A probability outside its range.</exception>
    public void Validate()
    {
        if (!(MlmProbability is > 0 and < 1))
            throw new EncoderKitException(ErrorKind.BadInput, $"{MlmProbability} is not in (0, 1)", field: "mlm_probability");
        if (!(MaskReplaceProbability is >= 0 and <= 1))
            throw new EncoderKitException(ErrorKind.BadInput, $"{MaskReplaceProbability} is not in [0, 1]", field: "mask_replace_prob");
        if (!(RandomReplaceProbability is >= 0 and <= 1))
            throw new EncoderKitException(ErrorKind.BadInput, $"{RandomReplaceProbability} is not in [0, 1]", field: "random_replace_prob");
        if (MaskReplaceProbability + RandomReplaceProbability > 1)
            throw new EncoderKitException(ErrorKind.BadInput,
                $"mask_replace_prob {MaskReplaceProbability} + random_replace_prob {RandomReplaceProbability} exceed 1", field: "random_replace_prob");
    }
}
