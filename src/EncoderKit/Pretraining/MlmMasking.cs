using EncoderKit.Training;

namespace EncoderKit.Pretraining;

/// <summary>A sequence as the model trains on it: masked ids, and labels holding the original id where a token was chosen, -100 elsewhere.</summary>
public sealed record MaskedSequence(PackedSequence Packed, int[] InputIds, long[] Labels);

/// <summary>
/// Dynamic masking, re-drawn every time a sequence is seen, as transformers' collators mask:
/// DataCollatorForLanguageModeling.torch_mask_tokens (each non-special token chosen with mlm_probability; of the chosen,
/// mask_replace_prob become the mask token, random_replace_prob / (1 − mask_replace_prob) of the rest a token drawn
/// uniformly from the vocabulary without its special tokens, the others unchanged; labels −100 where not chosen) and, with whole-word masking,
/// DataCollatorForWholeWordMask._whole_word_mask (words shuffled, then taken whole while the count stays within
/// round(n × mlm_probability), at least one).
/// </summary>
/// <remarks>
/// Deviations from transformers, each deliberate: draws come from a <see cref="DataOrderGenerator"/> the caller seeds (the
/// same distributions, not libtorch's bit stream); whole-word masking counts n over the non-special tokens (transformers
/// counts [CLS]/[SEP] too, and can choose padding) and has no 512-prediction cap (which would hold long sequences
/// far below the rate); random replacements never draw a special token (transformers draws from the whole vocabulary,
/// which puts [CLS], [SEP] or padding inside a sequence).
/// </remarks>
public sealed class MlmMasking
{
    readonly MaskingOptions options;
    readonly int maskTokenId;
    readonly int[] replacementIds;

    /// <param name="specialIds">The tokenizer's special tokens and padding, which random replacement never draws.</param>
    public MlmMasking(MaskingOptions options, int maskTokenId, int vocabSize, IReadOnlySet<int>? specialIds = null)
    {
        options.Validate();
        this.options = options;
        this.maskTokenId = maskTokenId;
        replacementIds = [.. Enumerable.Range(0, vocabSize).Where(id => specialIds?.Contains(id) != true)];
        if (replacementIds.Length == 0)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), $"a vocabulary of {vocabSize} with {specialIds?.Count ?? 0} special tokens leaves nothing to draw replacements from");
    }

    public MaskingOptions Options => options;

    /// <summary>
    /// The generator that masks row <paramref name="row"/> of optimizer step <paramref name="step"/>: a function of
    /// (seed, step, row) alone, so masking has no state to checkpoint and a resumed run masks as the uninterrupted one.
    /// </summary>
    public static DataOrderGenerator GeneratorFor(long seed, long step, int row) => new(SeedMix.Of(seed, SeedMix.Masking, step, row));

    public MaskedSequence Mask(PackedSequence sequence, DataOrderGenerator random)
    {
        bool[] chosen = options.WholeWordMasking ? ChooseWords(sequence, random) : ChooseTokens(sequence, random);
        int[] ids = (int[])sequence.InputIds.Clone();
        var labels = new long[ids.Length];
        // The share of the non-[MASK] remainder that becomes random, as transformers computes it.
        double randomShare = options.MaskReplaceProbability >= 1 ? 0 : options.RandomReplaceProbability / (1 - options.MaskReplaceProbability);
        for (int i = 0; i < ids.Length; i++)
        {
            if (!chosen[i])
            {
                labels[i] = TaskLoss.IgnoreIndex;
                continue;
            }
            labels[i] = ids[i];
            if (Uniform(random) < options.MaskReplaceProbability) ids[i] = maskTokenId;
            else if (Uniform(random) < randomShare) ids[i] = replacementIds[random.Next(replacementIds.Length)];
        }
        return new MaskedSequence(sequence, ids, labels);
    }

    bool[] ChooseTokens(PackedSequence sequence, DataOrderGenerator random)
    {
        var chosen = new bool[sequence.Length];
        for (int i = 0; i < chosen.Length; i++)
            chosen[i] = !sequence.Special[i] && Uniform(random) < options.MlmProbability;
        return chosen;
    }

    bool[] ChooseWords(PackedSequence sequence, DataOrderGenerator random)
    {
        var words = new List<(int Start, int End)>();
        for (int i = 0; i < sequence.Length; i++)
        {
            if (sequence.Special[i]) continue;
            if (sequence.WordStart[i] || words.Count == 0 || words[^1].End != i) words.Add((i, i + 1));
            else words[^1] = (words[^1].Start, i + 1);
        }
        var chosen = new bool[sequence.Length];
        int tokens = words.Sum(w => w.End - w.Start);
        if (tokens == 0) return chosen;
        for (int i = words.Count - 1; i > 0; i--)
        {
            int j = (int)random.Next(i + 1);
            (words[i], words[j]) = (words[j], words[i]);
        }
        // Python's round() (half to even), as int(round(len(tokens) * mlm_probability)) in transformers.
        int target = Math.Max(1, (int)Math.Round(tokens * options.MlmProbability, MidpointRounding.ToEven)), count = 0;
        foreach (var (start, end) in words)
        {
            if (count >= target) break;
            if (count + end - start > target) continue;
            for (int i = start; i < end; i++) chosen[i] = true;
            count += end - start;
        }
        return chosen;
    }

    static double Uniform(DataOrderGenerator random) => (random.NextBits() >> 11) * (1.0 / (1UL << 53));
}
