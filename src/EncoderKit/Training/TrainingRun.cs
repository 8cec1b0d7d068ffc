using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.Training;

/// <summary>How a <see cref="TrainingRun{TExample}"/> runs, with transformers' TrainingArguments defaults where it has them.</summary>
/// <param name="OutputFolder">Checkpoints, train_log.jsonl, the curves and, at the end, the final model.</param>
public sealed record TrainingRunOptions(string OutputFolder)
{
    public int Epochs { get; init; } = 3;

    /// <summary>Optimizer steps of the run; overrides <see cref="Epochs"/> when set.</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Examples per micro-batch.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;

    public double LearningRate { get; init; } = 5e-5;

    public ScheduleKind Scheduler { get; init; } = ScheduleKind.Linear;

    /// <summary>Warmup as a fraction of the run's steps (ceil, as Trainer); <see cref="WarmupSteps"/> wins when set.</summary>
    public double WarmupRatio { get; init; }

    public long? WarmupSteps { get; init; }

    public double WeightDecay { get; init; }

    public double? MaxGradNorm { get; init; } = 1.0;

    /// <summary>The dtype forward and backward run in; BFloat16 is mixed precision (<see cref="TrainerOptions.ComputeDtype"/>).</summary>
    public ComputeDtype ComputeDtype { get; init; } = ComputeDtype.Float32;

    public long Seed { get; init; } = 42;

    /// <summary>Evaluate every this many steps; null: at the end of each epoch. The last step is always evaluated.</summary>
    public long? EvalSteps { get; init; }

    /// <summary>Write a checkpoint every this many steps (and after the last step).</summary>
    public long SaveSteps { get; init; } = 500;

    /// <summary>Checkpoints kept (the newest); null keeps all.</summary>
    public int? SaveTotalLimit { get; init; }

    /// <summary>Stop after this many evaluations without improving the main metric; null never stops early.</summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>The checkpoint to continue from (<see cref="TrainingRuns.FindCheckpoint"/>); the model must have been loaded from it.</summary>
    public string? ResumeFrom { get; init; }

    public void Validate()
    {
        static EncoderKitException Bad(string problem, string field) => new(ErrorKind.BadInput, problem, field: field);
        if (!(LearningRate > 0)) throw Bad($"the learning rate {LearningRate.ToString(CultureInfo.InvariantCulture)} is not > 0", "--learning-rate");
        if (BatchSize < 1) throw Bad($"the batch size {BatchSize} is not ≥ 1", "--batch-size");
        if (GradientAccumulation < 1) throw Bad($"gradient accumulation {GradientAccumulation} is not ≥ 1", "--gradient-accumulation");
        if (MaxSteps is null && Epochs < 1) throw Bad($"epochs {Epochs} is not ≥ 1", "--epochs");
        if (MaxSteps is < 1) throw Bad($"max steps {MaxSteps} is not ≥ 1", "--max-steps");
        if (!(WarmupRatio is >= 0 and <= 1)) throw Bad($"warmup ratio {WarmupRatio.ToString(CultureInfo.InvariantCulture)} is not in [0, 1]", "--warmup-ratio");
        if (WarmupSteps is < 0) throw Bad($"warmup steps {WarmupSteps} are negative", "--warmup-steps");
        if (WeightDecay < 0) throw Bad($"weight decay {WeightDecay.ToString(CultureInfo.InvariantCulture)} is negative", "--weight-decay");
        if (EvalSteps is < 1) throw Bad($"eval steps {EvalSteps} is not ≥ 1", "--eval-steps");
        if (SaveSteps < 1) throw Bad($"save steps {SaveSteps} is not ≥ 1", "--save-steps");
        if (SaveTotalLimit is < 1) throw Bad($"save total limit {SaveTotalLimit} is not ≥ 1", "--save-total-limit");
        if (EarlyStoppingPatience is < 1) throw Bad($"early stopping patience {EarlyStoppingPatience} is not ≥ 1", "--early-stopping-patience");
    }
}

/// <summary>What the run reports after each step; <see cref="Metrics"/> is set on steps that were evaluated.</summary>
public sealed record TrainingProgress(long Step, long TotalSteps, int Epoch, double Loss, double LearningRate, double TokensPerSecond, TimeSpan Elapsed, TimeSpan Remaining)
{
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }
}

/// <summary>How a run ended.</summary>
/// <param name="BestStep">The step whose model is the final one (the best evaluation's), or the last step without evaluation.</param>
public sealed record TrainingSummary(long Steps, bool StoppedEarly, long BestStep, double? BestMetric, string FinalModelFolder);

/// <summary>Finding the checkpoint a run continues from.</summary>
public static class TrainingRuns
{
    /// <summary>
    /// <paramref name="resume"/> as `--resume` takes it: "latest" (or empty) for the newest complete checkpoint in
    /// <paramref name="outputFolder"/>, else a checkpoint folder (a path, or a name inside the output folder).
    /// </summary>
    public static string FindCheckpoint(string outputFolder, string? resume)
    {
        if (string.IsNullOrEmpty(resume) || resume == "latest")
            return LatestCheckpoint(outputFolder)
                ?? throw new EncoderKitException(ErrorKind.MissingFile, "no complete checkpoint to resume from", outputFolder, "--resume");
        string folder = Directory.Exists(resume) ? resume : Path.Combine(outputFolder, resume);
        return Directory.Exists(folder) && File.Exists(Path.Combine(folder, TrainingRunState.FileName)) ? folder
            : throw new EncoderKitException(ErrorKind.MissingFile, "not a complete checkpoint of a training run", folder, "--resume");
    }

    /// <summary>The newest complete checkpoint in <paramref name="outputFolder"/>; null when it holds none.</summary>
    public static string? LatestCheckpoint(string outputFolder) => new CheckpointFolders(outputFolder, int.MaxValue).Latest();

    /// <summary>
    /// The checkpoint a run starts from: the one <paramref name="resume"/> names (<see cref="FindCheckpoint"/>), or none
    /// for a fresh run, which an output folder holding another run's checkpoints refuses (they would mix).
    /// </summary>
    public static string? CheckpointToResume(string outputFolder, string? resume)
    {
        if (resume is not null) return FindCheckpoint(outputFolder, resume);
        if (LatestCheckpoint(outputFolder) is { } existing)
            throw new EncoderKitException(ErrorKind.BadInput, $"the output folder holds checkpoints of a run ({Path.GetFileName(existing)}); pass --resume to continue it, or choose another folder", outputFolder, "--output");
        return null;
    }
}

/// <summary>
/// A whole training run over examples of any kind, as transformers' Trainer runs one: epochs of a seeded shuffled order
/// (or a fixed number of steps), micro-batches accumulated into optimizer steps, evaluation every few steps with the
/// caller's metrics, checkpoints (model, optimizer, schedule, random states, data position, best metric so far) that a
/// resumed run continues from as if never stopped, the best model kept by the main metric and written to the output
/// folder at the end (load_best_model_at_end), early stopping, and train_log.jsonl with every step and evaluation.
/// </summary>
/// <remarks>
/// An epoch is ⌊⌈examples / batch⌉ / accumulation⌋ steps (at least one); micro-batches left over at its end are skipped,
/// so every step accumulates the same number of micro-batches. Evaluation must not draw from libtorch's generator (it
/// runs in eval mode, without dropout), so evaluating does not change what training draws.
/// </remarks>
public sealed class TrainingRun<TExample>
{
    const string LogFileName = "train_log.jsonl", BestFolderName = "best";

    readonly EncoderModel model;
    readonly IReadOnlyList<TExample> examples;
    readonly Func<TrainerOptions, Trainer<IReadOnlyList<TExample>>> createTrainer;
    readonly TrainingRunOptions options;

    /// <param name="loss">
    /// The loss of one micro-batch, a scalar (a mean over its rows), computed with gradients by the model it is given:
    /// the trained model, or its bf16 copy under mixed precision.
    /// </param>
    public TrainingRun(EncoderModel model, IReadOnlyList<TExample> examples, Func<EncoderModel, IReadOnlyList<TExample>, Tensor> loss, TrainingRunOptions options)
        : this(model, examples, trainerOptions => new Trainer<IReadOnlyList<TExample>>(model, loss, trainerOptions), options)
    {
    }

    /// <param name="objective">Runs each micro-batch's forward and backward itself (GradCache), on the compute model it is given.</param>
    public TrainingRun(EncoderModel model, IReadOnlyList<TExample> examples, BackwardObjective<IReadOnlyList<TExample>> objective, TrainingRunOptions options)
        : this(model, examples, trainerOptions => new Trainer<IReadOnlyList<TExample>>(model, objective, trainerOptions), options)
    {
    }

    TrainingRun(EncoderModel model, IReadOnlyList<TExample> examples, Func<TrainerOptions, Trainer<IReadOnlyList<TExample>>> createTrainer, TrainingRunOptions options)
    {
        options.Validate();
        if (examples.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "no training examples", field: "--train");
        this.model = model;
        this.examples = examples;
        this.createTrainer = createTrainer;
        this.options = options;
    }

    /// <summary>
    /// One epoch's micro-batches as example indices, drawn from the run's data-order generator (contrastive batches:
    /// no duplicate texts, one source per batch); null: a shuffled permutation in chunks of
    /// <see cref="TrainingRunOptions.BatchSize"/>. Steps are counted from ⌈examples / batch⌉ micro-batches an epoch,
    /// as sentence-transformers counts a batch sampler's length; an epoch still runs through every batch it was given.
    /// </summary>
    public Func<DataOrderGenerator, IReadOnlyList<int[]>>? BatchOrder { get; init; }

    /// <summary>Metrics of the model on the validation data (the model is in eval mode); null: no evaluation.</summary>
    public Func<EncoderModel, IReadOnlyDictionary<string, double>>? Evaluate { get; init; }

    /// <summary>The metric that picks the best checkpoint and drives early stopping.</summary>
    public string MainMetric { get; init; } = "loss";

    public bool GreaterIsBetter { get; init; } = true;

    /// <summary>Tokens an example holds, for the throughput the progress reports; null: not reported.</summary>
    public Func<TExample, int>? TokenCount { get; init; }

    public Action<TrainingProgress>? Progress { get; init; }

    /// <summary>
    /// Writes what belongs beside the model's weights into each folder the run saves the model in (every checkpoint,
    /// the best, the output folder at the end), so each loads as the whole model: a sentence-transformers model's
    /// modules and settings. Null: the Hugging Face folder alone.
    /// </summary>
    public Action<string>? SaveBesideModel { get; init; }

    public int MicroBatchesPerEpoch => (examples.Count + options.BatchSize - 1) / options.BatchSize;

    public long StepsPerEpoch => Math.Max(1, MicroBatchesPerEpoch / options.GradientAccumulation);

    public long TotalSteps => options.MaxSteps ?? StepsPerEpoch * options.Epochs;

    public string LogFile => Path.Combine(options.OutputFolder, LogFileName);

    public TrainingSummary Run(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.OutputFolder);
        long total = TotalSteps;
        long warmup = options.WarmupSteps ?? LearningRateSchedule.WarmupStepsFromRatio(options.WarmupRatio, total);
        var schedule = new LearningRateSchedule(options.Scheduler, options.LearningRate, warmup, total).Validate();
        var checkpoints = new CheckpointFolders(options.OutputFolder, options.SaveTotalLimit ?? int.MaxValue);
        var best = new CheckpointFolders(Path.Combine(options.OutputFolder, BestFolderName), keepLast: 1);
        using var trainer = createTrainer(new TrainerOptions(schedule)
        {
            WeightDecay = options.WeightDecay, GradientAccumulation = options.GradientAccumulation, MaxGradNorm = options.MaxGradNorm,
            Seed = options.Seed, LogFile = LogFile, ComputeDtype = options.ComputeDtype,
        });

        TrainingRunState state;
        if (options.ResumeFrom is { } resumeFrom)
        {
            trainer.Resume(resumeFrom);
            state = TrainingRunState.Read(resumeFrom, examples.Count, options.BatchSize);
        }
        else
        {
            File.Delete(LogFile);
            state = new TrainingRunState { Epoch = -1, Batches = [] };
        }

        var clock = Stopwatch.StartNew();
        long startStep = trainer.Step;
        bool stoppedEarly = false;
        int accumulation = options.GradientAccumulation;
        while (trainer.Step < total && !stoppedEarly)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (state.Epoch < 0 || state.MicroBatch + accumulation > state.Batches.Length)
            {
                state.Epoch++;
                state.Batches = BatchOrder is null
                    ? [.. trainer.Random.DataOrder.Permutation(examples.Count).Chunk(options.BatchSize)]
                    : [.. BatchOrder(trainer.Random.DataOrder)];
                if (state.Batches.Length < accumulation)
                    throw new EncoderKitException(ErrorKind.BadInput, $"an epoch gives {state.Batches.Length} batches, fewer than the {accumulation} one step accumulates", field: "--gradient-accumulation");
                state.MicroBatch = 0;
            }
            var batches = new List<IReadOnlyList<TExample>>(accumulation);
            for (int m = 0; m < accumulation; m++, state.MicroBatch++)
                batches.Add([.. state.Batches[state.MicroBatch].Select(i => examples[i])]);
            long stepStarted = clock.ElapsedTicks;
            StepRecord record = trainer.TrainStep(batches);
            double seconds = (double)(clock.ElapsedTicks - stepStarted) / Stopwatch.Frequency;
            double tokens = TokenCount is null ? 0 : batches.Sum(b => b.Sum(TokenCount));
            long step = trainer.Step;

            bool last = step == total;
            bool epochEnds = state.MicroBatch + accumulation > state.Batches.Length;
            IReadOnlyDictionary<string, double>? metrics = null;
            if (Evaluate is not null && (last || (options.EvalSteps is { } every ? step % every == 0 : epochEnds)))
            {
                model.Network.eval();
                metrics = Evaluate(model);
                AppendEvaluation(step, state.Epoch, metrics);
                if (!metrics.TryGetValue(MainMetric, out double value))
                    throw new InvalidOperationException($"the evaluation gives no '{MainMetric}' (it gives {string.Join(", ", metrics.Keys)})");
                if (state.BestStep < 0 || (GreaterIsBetter ? value > state.BestMetric : value < state.BestMetric))
                {
                    state.BestMetric = value;
                    state.BestStep = step;
                    state.EvaluationsWithoutImprovement = 0;
                    best.Write(step, folder =>
                    {
                        model.Save(folder);
                        SaveBesideModel?.Invoke(folder);
                    });
                }
                else if (++state.EvaluationsWithoutImprovement >= options.EarlyStoppingPatience)
                    stoppedEarly = true;
            }
            if (last || stoppedEarly || step % options.SaveSteps == 0)
                checkpoints.Write(step, folder =>
                {
                    trainer.Save(folder);
                    state.Write(folder);
                    SaveBesideModel?.Invoke(folder);
                });

            double elapsed = clock.Elapsed.TotalSeconds, perStep = elapsed / (step - startStep);
            Progress?.Invoke(new TrainingProgress(step, total, state.Epoch, record.Loss, record.LearningRate,
                seconds > 0 ? tokens / seconds : 0, clock.Elapsed, TimeSpan.FromSeconds(perStep * (total - step))) { Metrics = metrics });
        }

        string final = options.OutputFolder;
        // The best evaluation's model, as written when it was evaluated (a run killed after writing a newer best and
        // resumed from before it rewrites that one when it gets there, but one resumed with fewer steps does not).
        string? bestFolder = state.BestStep < 0 ? null
            : new[] { best, checkpoints }.Select(c => c.Complete().FirstOrDefault(x => x.Step == state.BestStep).Folder).FirstOrDefault(f => f is not null);
        if (bestFolder is not null)
            foreach (string file in Directory.GetFiles(bestFolder).Where(f => !Path.GetFileName(f).StartsWith("optimizer", StringComparison.Ordinal) && !f.EndsWith("_state.safetensors", StringComparison.Ordinal)))
                AtomicFile.Write(Path.Combine(final, Path.GetFileName(file)), stream =>
                {
                    using FileStream source = File.OpenRead(file);
                    source.CopyTo(stream);
                });
        else
            model.Save(final);
        SaveBesideModel?.Invoke(final);
        bool fromBest = bestFolder is not null;
        return new TrainingSummary(trainer.Step, stoppedEarly, fromBest ? state.BestStep : trainer.Step, fromBest ? state.BestMetric : null, final);
    }

    void AppendEvaluation(long step, int epoch, IReadOnlyDictionary<string, double> metrics)
    {
        using var stream = new FileStream(LogFile, FileMode.Append, FileAccess.Write);
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteNumber("step", step);
            writer.WriteNumber("epoch", epoch);
            foreach (var (name, value) in metrics)
            {
                if (double.IsFinite(value)) writer.WriteNumber("eval_" + name, value);
                else writer.WriteNull("eval_" + name);
            }
            writer.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
    }
}

/// <summary>The run's state beyond the trainer's: the data position (epoch, its order, the next micro-batch) and the best evaluation so far.</summary>
sealed class TrainingRunState
{
    public const string FileName = "run_state.safetensors";

    public int Epoch { get; set; }
    public int[][] Batches { get; set; } = [];
    public int MicroBatch { get; set; }
    public long BestStep { get; set; } = -1;
    public double BestMetric { get; set; } = double.NaN;
    public int EvaluationsWithoutImprovement { get; set; }

    public void Write(string folder)
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["data.epoch"] = tensor((long)Epoch),
            ["data.order"] = tensor(Batches.Length == 0 ? new long[] { -1 } : [.. Batches.SelectMany(b => b).Select(i => (long)i)]),
            ["data.batch_sizes"] = tensor(Batches.Length == 0 ? new long[] { -1 } : [.. Batches.Select(b => (long)b.Length)]),
            ["data.micro_batch"] = tensor((long)MicroBatch),
            ["best.step"] = tensor(BestStep),
            ["best.metric"] = tensor(BestMetric),
            ["best.evaluations_without_improvement"] = tensor((long)EvaluationsWithoutImprovement),
        };
        try
        {
            TensorStateFile.Write(Path.Combine(folder, FileName), tensors);
        }
        finally
        {
            foreach (Tensor t in tensors.Values) t.Dispose();
        }
    }

    /// <param name="batchSize">How a checkpoint written before batch sizes were recorded cut its order.</param>
    public static TrainingRunState Read(string folder, int examples, int batchSize)
    {
        string path = Path.Combine(folder, FileName);
        Dictionary<string, Tensor> tensors = TensorStateFile.Read(path);
        try
        {
            Tensor Get(string key, ScalarType dtype) => tensors.TryGetValue(key, out Tensor? t) && t.dtype == dtype
                ? t : throw new EncoderKitException(ErrorKind.BadCheckpoint, $"missing, or not {dtype}", path, key);
            int[] order = [.. Get("data.order", ScalarType.Int64).data<long>().ToArray().Select(i => (int)i)];
            long[]? sizes = tensors.ContainsKey("data.batch_sizes") ? Get("data.batch_sizes", ScalarType.Int64).data<long>().ToArray() : null;
            if (order is [-1]) order = [];
            int[][] batches = sizes is null ? [.. order.Chunk(batchSize)] : Cut(order, sizes is [-1] ? [] : sizes, path);
            var state = new TrainingRunState
            {
                Epoch = (int)Get("data.epoch", ScalarType.Int64).item<long>(),
                Batches = batches,
                MicroBatch = (int)Get("data.micro_batch", ScalarType.Int64).item<long>(),
                BestStep = Get("best.step", ScalarType.Int64).item<long>(),
                BestMetric = Get("best.metric", ScalarType.Float64).item<double>(),
                EvaluationsWithoutImprovement = (int)Get("best.evaluations_without_improvement", ScalarType.Int64).item<long>(),
            };
            if (state.Epoch >= 0 && (order.Length > examples || order.Any(i => i < 0 || i >= examples)))
                throw new EncoderKitException(ErrorKind.BadCheckpoint, $"the checkpoint's data order is over {order.Length} examples, this run has {examples}: resume with the same training data", path, "data.order");
            return state;
        }
        finally
        {
            foreach (Tensor t in tensors.Values) t.Dispose();
        }
    }

    static int[][] Cut(int[] order, long[] sizes, string path)
    {
        if (sizes.Any(n => n < 1) || sizes.Sum() != order.Length)
            throw new EncoderKitException(ErrorKind.BadCheckpoint, $"batch sizes summing to {sizes.Sum()} for an order of {order.Length}", path, "data.batch_sizes");
        var batches = new int[sizes.Length][];
        int from = 0;
        for (int b = 0; b < sizes.Length; b++) batches[b] = order[from..(from += (int)sizes[b])];
        return batches;
    }
}
