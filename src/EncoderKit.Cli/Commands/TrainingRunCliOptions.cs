using System.CommandLine;
using EncoderKit.Compute;
using EncoderKit.Training;

namespace EncoderKit.Cli.Commands;

/// <summary>The options every command that trains through <see cref="TrainingRun{TExample}"/> shares (finetune, train-embeddings).</summary>
sealed class TrainingRunCliOptions(int defaultBatchSize, double defaultLearningRate)
{
    public Option<string> Output { get; } = new("--output", "-o") { Description = "Folder for checkpoints, train_log.jsonl and the final model", Required = true };
    public Option<int> Epochs { get; } = new("--epochs") { Description = "Passes over the training data", DefaultValueFactory = _ => 3 };
    public Option<long?> MaxSteps { get; } = new("--max-steps") { Description = "Optimizer steps in all (overrides --epochs)" };
    public Option<double> LearningRate { get; } = new("--learning-rate") { Description = "Peak learning rate", DefaultValueFactory = _ => defaultLearningRate };
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Examples per micro-batch", DefaultValueFactory = _ => defaultBatchSize };
    public Option<int> Accumulation { get; } = new("--gradient-accumulation") { Description = "Micro-batches per optimizer step", DefaultValueFactory = _ => 1 };
    public Option<double> WarmupRatio { get; } = new("--warmup-ratio") { Description = "Warmup as a fraction of all steps" };
    public Option<long?> WarmupSteps { get; } = new("--warmup-steps") { Description = "Warmup steps (instead of --warmup-ratio)" };
    public Option<double> WeightDecay { get; } = new("--weight-decay") { Description = "AdamW weight decay (not on biases and norms)" };
    public Option<string> Scheduler { get; } = new("--scheduler") { Description = "linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup", DefaultValueFactory = _ => "linear" };
    public Option<long> Seed { get; } = new("--seed") { Description = "Seed of the initialisation, the data order and dropout", DefaultValueFactory = _ => 42 };
    public Option<long?> EvalSteps { get; } = new("--eval-steps") { Description = "Evaluate every N steps (default: every epoch)" };
    public Option<long> SaveSteps { get; } = new("--save-steps") { Description = "Write a checkpoint every N steps", DefaultValueFactory = _ => 500 };
    public Option<int?> SaveLimit { get; } = new("--save-total-limit") { Description = "Checkpoints to keep, newest first (default: all)" };
    public Option<int?> Patience { get; } = new("--early-stopping-patience") { Description = "Stop after N evaluations without improvement" };
    public Option<string?> Resume { get; } = new("--resume") { Description = "Continue a run: the latest checkpoint in --output, or the one named", Arity = ArgumentArity.ZeroOrOne };

    public IEnumerable<Option> All => [Output, Epochs, MaxSteps, LearningRate, BatchSize, Accumulation, WarmupRatio, WarmupSteps, WeightDecay, Scheduler, Seed,
        EvalSteps, SaveSteps, SaveLimit, Patience, Resume];

    /// <summary>The run's options, validated; --dtype bf16 becomes mixed precision (float32 weights, a bf16 copy computing).</summary>
    public TrainingRunOptions Read(ParseResult parsed, ComputeOptions compute)
    {
        var options = new TrainingRunOptions(parsed.GetValue(Output)!)
        {
            Epochs = parsed.GetValue(Epochs), MaxSteps = parsed.GetValue(MaxSteps), LearningRate = parsed.GetValue(LearningRate),
            BatchSize = parsed.GetValue(BatchSize), GradientAccumulation = parsed.GetValue(Accumulation),
            WarmupRatio = parsed.GetValue(WarmupRatio), WarmupSteps = parsed.GetValue(WarmupSteps), WeightDecay = parsed.GetValue(WeightDecay),
            Scheduler = LearningRateSchedule.ParseKind(parsed.GetValue(Scheduler)!), Seed = parsed.GetValue(Seed),
            EvalSteps = parsed.GetValue(EvalSteps), SaveSteps = parsed.GetValue(SaveSteps), SaveTotalLimit = parsed.GetValue(SaveLimit),
            EarlyStoppingPatience = parsed.GetValue(Patience), ComputeDtype = compute.Dtype ?? ComputeDtype.Float32,
        };
        options.Validate();
        return options;
    }

    /// <summary>--resume as the run takes it: null without it, "latest" when given bare.</summary>
    public string? ReadResume(ParseResult parsed) => parsed.GetResult(Resume) is null ? null : parsed.GetValue(Resume) ?? "latest";
}
