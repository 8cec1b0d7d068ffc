using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Training;

/// <summary>How a <see cref="Trainer{TBatch}"/> steps: the schedule and what surrounds each AdamW step.</summary>
public sealed record TrainerOptions(LearningRateSchedule Schedule)
{
    public double WeightDecay { get; init; }

    /// <summary>Micro-batches per optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;

    /// <summary>Clip the global gradient norm to this before each step; null for no clipping.</summary>
    public double? MaxGradNorm { get; init; } = 1.0;

    public long Seed { get; init; } = 42;

    /// <summary>Where each step's record is appended as a JSON line (train_log.jsonl); null for none.</summary>
    public string? LogFile { get; init; }

    /// <summary>
    /// The dtype forward and backward run in. BFloat16 is mixed precision: the model given to the trainer keeps the
    /// master weights and the optimizer state in float32, a bf16 copy computes, and after each step the updated
    /// masters are rounded into the copy.
    /// </summary>
    public ComputeDtype ComputeDtype { get; init; } = ComputeDtype.Float32;
}

/// <summary>
/// An objective that back-propagates itself, for losses whose backward runs in pieces (GradCache): given the compute
/// model, one micro-batch and the number of micro-batches per optimizer step N, it back-propagates the micro-batch's
/// loss divided by N into the parameters' gradients and returns the loss's value (undivided).
/// </summary>
public delegate double BackwardObjective<in TBatch>(EncoderModel compute, TBatch batch, int microBatches);

/// <summary>One optimizer step's record, as train_log.jsonl holds it.</summary>
/// <param name="Step">1 for the first optimizer step.</param>
/// <param name="Loss">The mean of the micro-batches' losses.</param>
/// <param name="LearningRate">The rate the step used.</param>
/// <param name="GradNorm">The global gradient norm before clipping.</param>
public sealed record StepRecord(long Step, double Loss, double LearningRate, double GradNorm);

/// <summary>
/// The training loop, as nanoGPT's reads: for each optimizer step, the schedule's rate; each micro-batch's loss from the
/// objective, back-propagated scaled by 1/N; clipping by global norm; an AdamW step; a log line. A checkpoint is the
/// model, the optimizer state, the step and the random states, so a resumed run repeats the uninterrupted one bit for bit.
/// </summary>
/// <typeparam name="TBatch">What the objective takes; the trainer never looks inside it.</typeparam>
public sealed class Trainer<TBatch> : IDisposable
{
    const string OptimizerFile = "optimizer.safetensors", TrainerStateFile = "trainer_state.safetensors", StepKey = "step";

    readonly EncoderModel model, compute;
    // Under mixed precision, each bf16 parameter with the float32 master it computes for; empty otherwise.
    readonly IReadOnlyList<(Parameter Compute, Parameter Master)> mixedPairs;
    readonly BackwardObjective<TBatch> objective;
    readonly TrainerOptions options;
    readonly AdamW optimizer;
    readonly GradientAccumulation accumulation;

    /// <param name="model">The model trained; it holds the weights the optimizer updates and <see cref="Save"/> writes.</param>
    /// <param name="objective">
    /// The loss of one micro-batch (a scalar tensor, a mean over its rows), computed with the model it is given: the
    /// trained model itself, or its bf16 copy under <see cref="TrainerOptions.ComputeDtype"/> BFloat16.
    /// </param>
    /// <exception cref="EncoderKitException">Mixed precision asked for a model whose weights are not float32.</exception>
    public Trainer(EncoderModel model, Func<EncoderModel, TBatch, Tensor> objective, TrainerOptions options)
        : this(model, options, accumulation => (compute, batch, _) =>
        {
            Tensor loss = objective(compute, batch);
            double value = loss.to_type(ScalarType.Float32).item<float>();
            accumulation.Backward(loss);
            return value;
        })
    {
    }

    /// <param name="model">The model trained; it holds the weights the optimizer updates and <see cref="Save"/> writes.</param>
    /// <param name="objective">Runs each micro-batch's forward and backward itself, on the compute model it is given.</param>
    /// <exception cref="EncoderKitException">Mixed precision asked for a model whose weights are not float32.</exception>
    public Trainer(EncoderModel model, BackwardObjective<TBatch> objective, TrainerOptions options)
        : this(model, options, _ => objective)
    {
    }

    Trainer(EncoderModel model, TrainerOptions options, Func<GradientAccumulation, BackwardObjective<TBatch>> objective)
    {
        options.Schedule.Validate();
        bool mixed = options.ComputeDtype == ComputeDtype.BFloat16;
        if (mixed && model.Network.parameters().Any(p => p.dtype != ScalarType.Float32))
            throw new EncoderKitException(ErrorKind.BadInput, "bf16 training keeps float32 master weights: load the model in fp32", model.Folder, "dtype");
        this.model = model;
        this.options = options;
        accumulation = new GradientAccumulation(options.GradientAccumulation);
        Random = new RandomStates(options.Seed);
        optimizer = new AdamW(WeightDecayGroups.Split(model.Network, options.WeightDecay), options.Schedule.LearningRate);
        compute = mixed ? model.CopyAs(ScalarType.BFloat16) : model;
        var masters = model.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        mixedPairs = mixed ? [.. compute.Network.named_parameters().Select(p => (p.parameter, masters[p.name]))] : [];
        this.objective = objective(accumulation);
    }

    /// <summary>Optimizer steps taken so far.</summary>
    public long Step { get; private set; }

    /// <summary>The run's generators: data order draws from <see cref="RandomStates.DataOrder"/>.</summary>
    public RandomStates Random { get; }

    /// <summary>One optimizer step over <see cref="TrainerOptions.GradientAccumulation"/> micro-batches, in training mode.</summary>
    /// <param name="moreLogFields">
    /// Fields the loop adds to the step's log line (throughput, an evaluation of the updated weights), computed after the
    /// step and before its line is written.
    /// </param>
    public StepRecord TrainStep(IReadOnlyList<TBatch> microBatches, Func<StepRecord, IReadOnlyList<(string Name, double Value)>>? moreLogFields = null)
    {
        if (microBatches.Count != accumulation.MicroBatches)
            throw new ArgumentException($"{microBatches.Count} micro-batches for a step that accumulates {accumulation.MicroBatches}", nameof(microBatches));
        compute.Network.train();
        double learningRate = options.Schedule.At(Step), loss = 0;
        optimizer.LearningRate = learningRate;
        using (enable_grad())
            foreach (TBatch batch in microBatches)
            {
                using var scope = NewDisposeScope();
                loss += objective(compute, batch, microBatches.Count) / microBatches.Count;
            }
        MoveGradientsToMasters();
        var parameters = model.Network.parameters().ToList();
        double gradNorm = options.MaxGradNorm is { } maxNorm
            ? GradientClipping.ClipByGlobalNorm(parameters, maxNorm)
            : GradientClipping.GlobalNorm(parameters);
        optimizer.Step();
        optimizer.ZeroGrad();
        RoundMastersIntoCompute();
        Step++;
        var record = new StepRecord(Step, loss, learningRate, gradNorm);
        IReadOnlyList<(string Name, double Value)> more = moreLogFields?.Invoke(record) ?? [];
        if (options.LogFile is not null) AppendLog(options.LogFile, record, more);
        return record;
    }

    // Clipping and the update then see float32 gradients, as they would in fp32 training.
    void MoveGradientsToMasters()
    {
        foreach (var (parameter, master) in mixedPairs)
        {
            using Tensor? grad = parameter.grad;
            if (grad is null) continue;
            using Tensor float32 = grad.to_type(ScalarType.Float32, copy: true);
            master.grad = float32;
            parameter.grad = null;
        }
    }

    void RoundMastersIntoCompute()
    {
        using var noGrad = no_grad();
        foreach (var (parameter, master) in mixedPairs) parameter.copy_(master);
    }

    static void AppendLog(string path, StepRecord record, IReadOnlyList<(string Name, double Value)> more)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write);
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteNumber("step", record.Step);
            writer.WriteNumber("loss", record.Loss);
            writer.WriteNumber("learning_rate", record.LearningRate);
            writer.WriteNumber("grad_norm", record.GradNorm);
            foreach (var (name, value) in more) writer.WriteNumber(name, value);
            writer.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
    }

    /// <summary>
    /// Writes a checkpoint into <paramref name="folder"/>: the model (the float32 masters under mixed precision) as a Hugging Face folder (<see cref="EncoderModel.Save"/>),
    /// optimizer.safetensors and trainer_state.safetensors (step and random states), each file written atomically.
    /// </summary>
    public void Save(string folder)
    {
        model.Save(folder);
        Dictionary<string, Tensor> optimizerState = optimizer.StateDict(), trainerState = Random.StateDict();
        try
        {
            trainerState[StepKey] = tensor(Step);
            TensorStateFile.Write(Path.Combine(folder, OptimizerFile), optimizerState);
            TensorStateFile.Write(Path.Combine(folder, TrainerStateFile), trainerState);
        }
        finally
        {
            foreach (Tensor t in optimizerState.Values.Concat(trainerState.Values)) t.Dispose();
        }
    }

    /// <summary>
    /// Continues from a checkpoint <see cref="Save"/> wrote: optimizer state, step and random states; the log keeps only
    /// the lines up to that step. The model's weights are the caller's to load (EncoderModel.Load of the same folder)
    /// before constructing this trainer.
    /// </summary>
    public void Resume(string folder)
    {
        string optimizerPath = Path.Combine(folder, OptimizerFile), statePath = Path.Combine(folder, TrainerStateFile);
        Dictionary<string, Tensor> optimizerState = TensorStateFile.Read(optimizerPath), trainerState = TensorStateFile.Read(statePath);
        try
        {
            if (!trainerState.Remove(StepKey, out Tensor? step) || step.dtype != ScalarType.Int64 || step.NumberOfElements != 1 || step.item<long>() < 0)
                throw new EncoderKitException(ErrorKind.BadCheckpoint, "missing, or not a non-negative int64 count", statePath, StepKey);
            long resumedStep = step.item<long>();
            step.Dispose();
            optimizer.LoadStateDict(optimizerState, optimizerPath);
            Random.LoadStateDict(trainerState, statePath);
            Step = resumedStep;
            if (options.LogFile is not null) KeepLogUpTo(options.LogFile, Step);
        }
        finally
        {
            foreach (Tensor t in optimizerState.Values.Concat(trainerState.Values)) t.Dispose();
        }
    }

    // The lines a run logged after the checkpoint it resumes from go: the resumed run logs those steps again. A line cut
    // short by a kill ends what is kept.
    static void KeepLogUpTo(string path, long step)
    {
        if (!File.Exists(path)) return;
        var kept = File.ReadLines(path).TakeWhile(line =>
        {
            try
            {
                return JsonNode.Parse(line)?["step"]?.GetValue<long>() <= step;
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                return false;
            }
        }).ToList();
        AtomicFile.WriteAllText(path, string.Concat(kept.Select(line => line + "\n")));
    }

    public void Dispose()
    {
        optimizer.Dispose();
        if (compute != model) compute.Dispose();
    }
}
