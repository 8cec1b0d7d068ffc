using System.Globalization;

namespace EncoderKit.Pretraining;

/// <summary>One stage of a curriculum: <paramref name="Steps"/> optimizer steps on sequences of <paramref name="SeqLen"/> tokens, <paramref name="BatchSize"/> sequences per step.</summary>
public sealed record CurriculumStage(int SeqLen, long Steps, int BatchSize);

/// <summary>
/// A sequence-length curriculum (RetrievaBERT's 128 → 256 → 512 → 2048, BERT's 128 for 90 % of the steps then 512): the
/// stage of each optimizer step, so batches change length exactly at the stage boundaries while the optimizer state and
/// the learning-rate schedule, which spans all stages, run on. Steps beyond the last boundary stay in the last stage,
/// so a resumed run with a larger step budget goes on at the final length.
/// </summary>
public sealed class LengthCurriculum
{
    public LengthCurriculum(IReadOnlyList<CurriculumStage> stages)
    {
        if (stages.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "no stages", field: "curriculum");
        foreach (CurriculumStage stage in stages)
        {
            if (stage.SeqLen < 1 || stage.Steps < 1 || stage.BatchSize < 1)
                throw new EncoderKitException(ErrorKind.BadInput, $"stage {stage.SeqLen}:{stage.Steps}:{stage.BatchSize} needs a length, steps and batch size ≥ 1", field: "curriculum");
        }
        Stages = stages;
    }

    public IReadOnlyList<CurriculumStage> Stages { get; }

    /// <summary>The steps of all stages together.</summary>
    public long TotalSteps => Stages.Sum(s => s.Steps);

    /// <summary>The stage optimizer step <paramref name="step"/> (0 for the first) trains in.</summary>
    public CurriculumStage StageAt(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        foreach (CurriculumStage stage in Stages)
        {
            if (step < stage.Steps) return stage;
            step -= stage.Steps;
        }
        return Stages[^1];
    }

    /// <summary>
    /// Stages written as <c>length:steps[:batch]</c>, comma-separated (<c>128:900,512:100</c>); a stage without a batch
    /// size takes <paramref name="batchSize"/>.
    /// </summary>
    /// <exception cref="EncoderKitException">A stage is not two or three positive integers.</exception>
    public static LengthCurriculum Parse(string text, int batchSize, string? file = null)
    {
        var stages = new List<CurriculumStage>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] fields = part.Split(':');
            long[] numbers = [.. fields.Select(f => long.TryParse(f, NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n >= 1 ? n : -1)];
            if (fields.Length is < 2 or > 3 || numbers.Any(n => n < 1) || numbers[0] > int.MaxValue || (fields.Length == 3 && numbers[2] > int.MaxValue))
                throw new EncoderKitException(ErrorKind.BadInput, $"stage \"{part}\" is not length:steps or length:steps:batch with positive integers", file, "curriculum");
            stages.Add(new CurriculumStage((int)numbers[0], numbers[1], fields.Length == 3 ? (int)numbers[2] : batchSize));
        }
        return stages.Count == 0 ? throw new EncoderKitException(ErrorKind.BadInput, "no stages", file, "curriculum") : new LengthCurriculum(stages);
    }
}
