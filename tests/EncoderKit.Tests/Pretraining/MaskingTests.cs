using EncoderKit.Pretraining;
using EncoderKit.Training;

namespace EncoderKit.Tests.Pretraining;

/// <summary>
/// Token masking as DataCollatorForLanguageModeling masks, checked by counting over 220 sequences of 512 positions
/// (≈103,000 maskable tokens). Bounds: the chosen share is Binomial(n, 0.15), sd ≈ 0.11 points, so ±0.5 points is
/// 4.5 sd; of ≈15,000 chosen, the [MASK] share has sd ≈ 0.33 points and the random and unchanged shares ≈ 0.25, so
/// ±1 point is ≥ 3 sd. The draws are seeded: the counts are fixed, and a wrong rule (masking specials, 0.1 instead
/// of 0.1 / 0.2 for random, a skipped label) moves them by far more.
/// </summary>
public sealed class MaskingTests
{
    const int MaskId = 4, VocabSize = 30000, Length = 512, Rows = 220;

    // [CLS] tokens… [SEP] with a [SEP] inside and 40 padding positions: specials at both ends, in the middle and after.
    internal static PackedSequence Sequence(int row)
    {
        var random = new DataOrderGenerator(1000 + row);
        int real = Length - 40;
        int[] ids = new int[Length];
        bool[] special = new bool[Length];
        for (int i = 0; i < Length; i++)
        {
            special[i] = i == 0 || i == real / 2 || i >= real - 1;
            ids[i] = i == 0 ? 1 : special[i] ? (i >= real ? 0 : 2) : 100 + (int)random.Next(20000);
        }
        bool[] wordStart = [.. Enumerable.Range(0, Length).Select(i => special[i] || random.Next(3) == 0)];
        return new PackedSequence(ids, new int[Length], special, wordStart, real, null);
    }

    static List<MaskedSequence> MaskAll(MaskingOptions options) =>
        [.. Enumerable.Range(0, Rows).Select(r => new MlmMasking(options, MaskId, VocabSize).Mask(Sequence(r), MlmMasking.GeneratorFor(7, 3, r)))];

    [Fact]
    public void ChosenShareAndTheEightyTenTenSplitMatchTheRecipe()
    {
        long maskable = 0, chosen = 0, masked = 0, randomised = 0, unchanged = 0;
        foreach (MaskedSequence row in MaskAll(new MaskingOptions()))
        {
            int[] original = row.Packed.InputIds;
            for (int i = 0; i < Length; i++)
            {
                if (row.Packed.Special[i])
                {
                    Assert.Equal(TaskLoss.IgnoreIndex, row.Labels[i]);
                    Assert.Equal(original[i], row.InputIds[i]);
                    continue;
                }
                maskable++;
                if (row.Labels[i] == TaskLoss.IgnoreIndex)
                {
                    Assert.Equal(original[i], row.InputIds[i]);
                    continue;
                }
                Assert.Equal(original[i], row.Labels[i]);
                chosen++;
                if (row.InputIds[i] == MaskId) masked++;
                else if (row.InputIds[i] != original[i]) randomised++;
                else unchanged++;
            }
        }
        Assert.True(maskable > 100_000, $"{maskable} maskable tokens");
        Assert.InRange((double)chosen / maskable, 0.145, 0.155);
        Assert.InRange((double)masked / chosen, 0.79, 0.81);
        Assert.InRange((double)randomised / chosen, 0.09, 0.11);
        Assert.InRange((double)unchanged / chosen, 0.09, 0.11);
    }

    [Fact]
    public void RandomReplacementsNeverDrawASpecialToken()
    {
        // Special ids 0–4 of a 10-token vocabulary: half the draws would hit them if they were not left out.
        var masking = new MlmMasking(new MaskingOptions { MlmProbability = 0.5, MaskReplaceProbability = 0, RandomReplaceProbability = 1 }, MaskId, vocabSize: 10,
            specialIds: new HashSet<int> { 0, 1, 2, 3, 4 });
        var drawn = new HashSet<int>();
        for (int r = 0; r < 200; r++)
        {
            MaskedSequence row = masking.Mask(Sequence(r), MlmMasking.GeneratorFor(7, 3, r));
            for (int i = 0; i < Length; i++)
                if (row.Labels[i] != TaskLoss.IgnoreIndex) drawn.Add(row.InputIds[i]);
        }
        Assert.Equal([5, 6, 7, 8, 9], drawn.Order());
    }

    [Fact]
    public void RandomReplacementsComeFromTheWholeVocabulary()
    {
        var replacements = new List<int>();
        foreach (MaskedSequence row in MaskAll(new MaskingOptions { MlmProbability = 0.5, MaskReplaceProbability = 0, RandomReplaceProbability = 1 }))
            for (int i = 0; i < Length; i++)
                if (row.Labels[i] != TaskLoss.IgnoreIndex) replacements.Add(row.InputIds[i]);
        // Uniform over [0, 30000): the original ids lie in [100, 20100), so a draw above that range shows the whole vocabulary is used.
        Assert.InRange(replacements.Min(), 0, 99);
        Assert.InRange(replacements.Max(), 29_000, VocabSize - 1);
        Assert.InRange(replacements.Average(), VocabSize / 2.0 - 300, VocabSize / 2.0 + 300);
    }

    [Fact]
    public void TheSameGeneratorMasksTheSameWayAndAnotherStepDifferently()
    {
        var masking = new MlmMasking(new MaskingOptions(), MaskId, VocabSize);
        PackedSequence sequence = Sequence(0);
        MaskedSequence first = masking.Mask(sequence, MlmMasking.GeneratorFor(7, 3, 0)), again = masking.Mask(sequence, MlmMasking.GeneratorFor(7, 3, 0));
        MaskedSequence nextStep = masking.Mask(sequence, MlmMasking.GeneratorFor(7, 4, 0));
        Assert.Equal(first.InputIds, again.InputIds);
        Assert.Equal(first.Labels, again.Labels);
        Assert.NotEqual(first.Labels, nextStep.Labels);
    }

    [Theory]
    [InlineData(0.0, 0.8, 0.1, "mlm_probability")]
    [InlineData(1.0, 0.8, 0.1, "mlm_probability")]
    [InlineData(0.15, 0.9, 0.2, "random_replace_prob")]
    [InlineData(0.15, -0.1, 0.1, "mask_replace_prob")]
    public void ProbabilitiesOutsideTheirRangeAreRefused(double mlm, double mask, double random, string field)
    {
        var options = new MaskingOptions { MlmProbability = mlm, MaskReplaceProbability = mask, RandomReplaceProbability = random };
        var e = Assert.Throws<EncoderKitException>(() => new MlmMasking(options, MaskId, VocabSize));
        Assert.Equal(field, e.Field);
    }
}
