namespace EncoderKit.Training;

/// <summary>The learning-rate curves of transformers.get_scheduler, by the names it takes.</summary>
public enum ScheduleKind
{
    Linear,
    Cosine,
    CosineWithRestarts,
    Polynomial,
    Constant,
    ConstantWithWarmup,
    CosineWithMinLr,
    WarmupStableDecay,
}

/// <summary>How a warmup-stable-decay schedule rises and falls (transformers' warmup_type and decay_type).</summary>
public enum WsdShape
{
    Linear,
    Cosine,
    OneMinusSqrt,
}

/// <summary>
/// A learning rate as a pure function of the optimizer step, the curve transformers.get_scheduler's LambdaLR gives:
/// <c>At(t)</c> is the rate in effect for the (t + 1)-th optimizer step, base rate × the schedule's factor at t, computed
/// in float64 with transformers' own expressions so the values agree with it to rounding.
/// </summary>
/// <param name="Kind">The curve.</param>
/// <param name="LearningRate">The peak (base) learning rate.</param>
/// <param name="WarmupSteps">Steps of linear warmup from 0 (none for <see cref="ScheduleKind.Constant"/>).</param>
/// <param name="TrainingSteps">All optimizer steps of the run; the decaying curves need it.</param>
public sealed record LearningRateSchedule(ScheduleKind Kind, double LearningRate, long WarmupSteps = 0, long? TrainingSteps = null)
{
    /// <summary>Cosine waves over the decay: 0.5 (half a wave, to zero) for the cosine curves, 1 for cosine with restarts.</summary>
    public double? Cycles { get; init; }

    /// <summary>cosine_with_min_lr's floor as a rate (transformers' min_lr); give this or <see cref="MinLearningRateRatio"/>.</summary>
    public double? MinLearningRate { get; init; }

    /// <summary>
    /// The floor as a fraction of <see cref="LearningRate"/>: min_lr_rate for cosine_with_min_lr, min_lr_ratio (default 0)
    /// for warmup_stable_decay.
    /// </summary>
    public double? MinLearningRateRatio { get; init; }

    /// <summary>polynomial's final rate (lr_end, default 1e-7) and power (default 1).</summary>
    public double PolynomialEnd { get; init; } = 1e-7;

    public double PolynomialPower { get; init; } = 1.0;

    /// <summary>warmup_stable_decay's decay length (num_decay_steps, required) and stable length (num_stable_steps, default the rest).</summary>
    public long? DecaySteps { get; init; }

    public long? StableSteps { get; init; }

    public WsdShape WarmupShape { get; init; } = WsdShape.Linear;

    public WsdShape DecayShape { get; init; } = WsdShape.Cosine;

    /// <summary>Trainer's warmup steps for a warmup ratio: ceil(training steps × ratio).</summary>
    public static long WarmupStepsFromRatio(double ratio, long trainingSteps)
    {
        if (!(ratio is >= 0 and <= 1)) throw new EncoderKitException(ErrorKind.BadInput, $"warmup ratio {ratio} is not in [0, 1]", field: "warmup_ratio");
        return (long)Math.Ceiling(trainingSteps * ratio);
    }

    /// <summary>transformers' scheduler name ("linear", "cosine_with_min_lr", ...) as a kind.</summary>
    public static ScheduleKind ParseKind(string name) => name switch
    {
        "linear" => ScheduleKind.Linear,
        "cosine" => ScheduleKind.Cosine,
        "cosine_with_restarts" => ScheduleKind.CosineWithRestarts,
        "polynomial" => ScheduleKind.Polynomial,
        "constant" => ScheduleKind.Constant,
        "constant_with_warmup" => ScheduleKind.ConstantWithWarmup,
        "cosine_with_min_lr" => ScheduleKind.CosineWithMinLr,
        "warmup_stable_decay" => ScheduleKind.WarmupStableDecay,
        _ => throw new EncoderKitException(ErrorKind.BadInput,
            $"unknown scheduler \"{name}\"; expected linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup, cosine_with_min_lr or warmup_stable_decay",
            field: "scheduler"),
    };

    /// <summary>The learning rate for optimizer step <paramref name="step"/> + 1 (step 0 is the first).</summary>
    public double At(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "steps count from 0");
        return LearningRate * Factor(step);
    }

    /// <summary>Checks the settings as get_scheduler does, so a bad one fails before training rather than at some step.</summary>
    public LearningRateSchedule Validate()
    {
        if (!(LearningRate > 0)) throw Bad($"learning rate {LearningRate} is not > 0", "learning_rate");
        if (WarmupSteps < 0) throw Bad($"warmup steps {WarmupSteps} are negative", "warmup_steps");
        if (Kind is not (ScheduleKind.Constant or ScheduleKind.ConstantWithWarmup) && TrainingSteps is null)
            throw Bad($"the {Kind} schedule needs the number of training steps", "max_steps");
        if (TrainingSteps is < 1) throw Bad($"training steps {TrainingSteps} are not ≥ 1", "max_steps");
        if (Kind == ScheduleKind.Polynomial && !(LearningRate > PolynomialEnd))
            throw Bad($"lr_end ({PolynomialEnd}) must be smaller than the learning rate ({LearningRate})", "lr_end");
        if (Kind == ScheduleKind.CosineWithMinLr && (MinLearningRate is null) == (MinLearningRateRatio is null))
            throw Bad("cosine_with_min_lr needs exactly one of min_lr and min_lr_rate", "min_lr");
        if (Kind == ScheduleKind.WarmupStableDecay && DecaySteps is null) throw Bad("warmup_stable_decay needs num_decay_steps", "num_decay_steps");
        return this;

        static EncoderKitException Bad(string problem, string field) => new(ErrorKind.BadInput, problem, field: field);
    }

    double Factor(long step)
    {
        Validate();
        double t = step;
        double Warmup() => t / Math.Max(1.0, WarmupSteps);
        double Progress() => (double)(step - WarmupSteps) / Math.Max(1, TrainingSteps!.Value - WarmupSteps);
        switch (Kind)
        {
            case ScheduleKind.Constant:
                return 1.0;
            case ScheduleKind.ConstantWithWarmup:
                return step < WarmupSteps ? Warmup() : 1.0;
            case ScheduleKind.Linear:
                if (step < WarmupSteps) return Warmup();
                return Math.Max(0.0, (double)(TrainingSteps!.Value - step) / Math.Max(1, TrainingSteps.Value - WarmupSteps));
            case ScheduleKind.Cosine:
                if (step < WarmupSteps) return Warmup();
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * (Cycles ?? 0.5) * 2.0 * Progress())));
            case ScheduleKind.CosineWithRestarts:
            {
                if (step < WarmupSteps) return Warmup();
                double progress = Progress();
                if (progress >= 1.0) return 0.0;
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * ((Cycles ?? 1.0) * progress % 1.0))));
            }
            case ScheduleKind.CosineWithMinLr:
            {
                if (step < WarmupSteps) return Warmup();
                double floor = MinLearningRateRatio ?? MinLearningRate!.Value / LearningRate;
                double factor = 0.5 * (1.0 + Math.Cos(Math.PI * (Cycles ?? 0.5) * 2.0 * Progress()));
                return Math.Max(0.0, factor * (1 - floor) + floor);
            }
            case ScheduleKind.Polynomial:
            {
                if (step < WarmupSteps) return Warmup();
                if (step > TrainingSteps!.Value) return PolynomialEnd / LearningRate;
                double range = LearningRate - PolynomialEnd;
                double remaining = 1 - (double)(step - WarmupSteps) / (TrainingSteps.Value - WarmupSteps);
                return (range * Math.Pow(remaining, PolynomialPower) + PolynomialEnd) / LearningRate;
            }
            case ScheduleKind.WarmupStableDecay:
                return WarmupStableDecay(step);
            default:
                throw new InvalidOperationException($"no curve for {Kind}");
        }
    }

    // transformers' _get_wsd_scheduler_lambda: warmup to the peak, hold it, decay to the floor over DecaySteps, then hold the floor.
    double WarmupStableDecay(long step)
    {
        double floor = MinLearningRateRatio ?? 0.0;
        long decay = DecaySteps!.Value;
        long stable = StableSteps ?? TrainingSteps!.Value - WarmupSteps - decay;
        if (step < WarmupSteps)
        {
            double progress = (double)step / Math.Max(1, WarmupSteps);
            double factor = WarmupShape switch
            {
                WsdShape.Linear => progress,
                WsdShape.Cosine => 0.5 * (1.0 - Math.Cos(Math.PI * progress)),
                _ => 1.0 - Math.Sqrt(1.0 - progress),
            };
            return Math.Max(0.0, factor * (1.0 - floor) + floor);
        }
        if (step < WarmupSteps + stable) return 1.0;
        if (step < WarmupSteps + stable + decay)
        {
            double progress = (double)(step - WarmupSteps - stable) / Math.Max(1, decay);
            double factor = DecayShape switch
            {
                WsdShape.Linear => 1.0 - progress,
                WsdShape.Cosine => 0.5 * (1.0 + Math.Cos(Math.PI * (Cycles ?? 0.5) * 2.0 * progress)),
                _ => 1.0 - Math.Sqrt(progress),
            };
            return Math.Max(0.0, factor * (1.0 - floor) + floor);
        }
        return floor;
    }
}
