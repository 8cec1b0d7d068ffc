using System.Text.Json.Nodes;
using EncoderKit.Training;
using Xunit.Abstractions;

namespace EncoderKit.Tests.Training;

/// <summary>
/// Every schedule against transformers.get_scheduler's recorded curves (optim_schedules.json `schedules.curves`:
/// base lr 1e-3, 10 warmup steps, 100 training steps, the rates for optimizer steps 1..100). Tolerance: 1e-12 relative
/// to the base rate. Both sides are the same float64 expressions, so only the last bits of cos may differ (measured
/// below, printed); an off-by-one step or a wrong formula moves a rate by ≥ 1e-6 of the base.
/// </summary>
public sealed class LearningRateScheduleTests(ITestOutputHelper output)
{
    static readonly JsonObject Schedules = TrainingReference.Root["schedules"]!.AsObject();

    public static TheoryData<string> Curves => new(Schedules["curves"]!.AsObject().Select(c => c.Key));

    [Fact]
    public void EveryRecordedCurveIsTested() =>
        Assert.Equal(Enum.GetValues<ScheduleKind>().Length, Schedules["curves"]!.AsObject().Count);

    [Theory, MemberData(nameof(Curves))]
    public void CurveMatchesTransformers(string name)
    {
        JsonObject curve = Schedules["curves"]![name]!.AsObject();
        JsonObject kwargs = curve["scheduler_specific_kwargs"]!.AsObject();
        double baseRate = Schedules["base_lr"]!.GetValue<double>();
        var schedule = new LearningRateSchedule(LearningRateSchedule.ParseKind(name), baseRate,
            curve["num_warmup_steps"]!.GetValue<long>(), curve["num_training_steps"]?.GetValue<long>())
        {
            Cycles = kwargs["num_cycles"]?.GetValue<double>(),
            MinLearningRate = kwargs["min_lr"]?.GetValue<double>(),
            MinLearningRateRatio = kwargs["min_lr_ratio"]?.GetValue<double>(),
            PolynomialEnd = kwargs["lr_end"]?.GetValue<double>() ?? 1e-7,
            PolynomialPower = kwargs["power"]?.GetValue<double>() ?? 1.0,
            DecaySteps = kwargs["num_decay_steps"]?.GetValue<long>(),
            DecayShape = kwargs["decay_type"]?.GetValue<string>() switch { "linear" => WsdShape.Linear, "1-sqrt" => WsdShape.OneMinusSqrt, _ => WsdShape.Cosine },
        }.Validate();
        Assert.True(kwargs.Select(k => k.Key).All(k => k is "num_cycles" or "min_lr" or "min_lr_ratio" or "lr_end" or "power" or "num_decay_steps" or "decay_type"),
            $"a kwarg this test does not pass on: {kwargs.ToJsonString()}");

        double[] expected = TrainingReference.Doubles(curve["lr"]!);
        Assert.Equal(100, expected.Length);
        double worst = 0;
        for (int step = 0; step < expected.Length; step++)
        {
            double deviation = Math.Abs(schedule.At(step) - expected[step]) / baseRate;
            Assert.True(deviation <= 1e-12, $"{name} step {step}: {schedule.At(step):R}, transformers {expected[step]:R}");
            worst = Math.Max(worst, deviation);
        }
        output.WriteLine($"{name}: max deviation {worst:E2} of the base rate");
    }

    [Theory]
    // Python: math.ceil(100 * 0.07) == 8, since 100 * 0.07 is 7.000000000000001.
    [InlineData(0.07, 100, 8)]
    [InlineData(0.1, 95, 10)]
    [InlineData(0.1, 1000, 100)]
    [InlineData(0.0, 1000, 0)]
    public void WarmupRatioBecomesStepsAsTrainerRoundsIt(double ratio, long trainingSteps, long expected) =>
        Assert.Equal(expected, LearningRateSchedule.WarmupStepsFromRatio(ratio, trainingSteps));

    [Fact]
    public void BadSettingsFailNamingTheSetting()
    {
        Assert.Equal("learning_rate", Assert.Throws<EncoderKitException>(() => new LearningRateSchedule(ScheduleKind.Linear, 0, 10, 100).Validate()).Field);
        Assert.Equal("max_steps", Assert.Throws<EncoderKitException>(() => new LearningRateSchedule(ScheduleKind.Cosine, 1e-3, 10).Validate()).Field);
        Assert.Equal("num_decay_steps", Assert.Throws<EncoderKitException>(() => new LearningRateSchedule(ScheduleKind.WarmupStableDecay, 1e-3, 10, 100).At(0)).Field);
        Assert.Equal("warmup_ratio", Assert.Throws<EncoderKitException>(() => LearningRateSchedule.WarmupStepsFromRatio(1.5, 100)).Field);
        Assert.Equal("scheduler", Assert.Throws<EncoderKitException>(() => LearningRateSchedule.ParseKind("cosine_annealing")).Field);
    }
}
