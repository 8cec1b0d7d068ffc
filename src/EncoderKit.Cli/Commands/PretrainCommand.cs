using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling.Heads;
using EncoderKit.Pretraining;
using EncoderKit.Tokenization;
using EncoderKit.Training;
using TorchSharp;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// `encoderkit pretrain [--recipe recipe.json] [--FIELD VALUE …]`: MLM (and NSP) pretraining on a prepared corpus,
/// from scratch (--config) or continued (--model), every <see cref="PretrainRecipe"/> field an option overriding the
/// recipe. The loop is here, in one place, until the shared training loop replaces it: per optimizer step, the
/// curriculum's stage → packed sequences → masking → <see cref="Trainer{TBatch}"/>.TrainStep; a checkpoint every
/// save_steps holding the trainer's state, the packing position and the schedule (a resumed run keeps the schedule it
/// started with unless the recipe changes it); with eval_steps, the held-out MLM score on the step's log line. Masking
/// needs no saved state: each row's draws come from a generator seeded by (seed, step, row), so a resumed run masks
/// exactly as the uninterrupted one.
/// </summary>
static class PretrainCommand
{
    const string StateFile = "pretrain_state.json";

    public static Command Create(CliInvocation cli)
    {
        var recipe = new RecipeOptions();
        var threads = new Option<int?>("--threads") { Description = "libtorch intra-op threads (default: one per core)" };
        var command = new Command("pretrain", "Pretrain a masked language model on a prepared corpus") { threads };
        recipe.AddTo(command);
        command.SetAction((parsed, cancellationToken) =>
        {
            Run(cli, recipe.Load(parsed), parsed.GetValue(threads), cancellationToken);
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>--recipe and one option per recipe field (--max-steps for max_steps), a given option overriding the file.</summary>
    internal sealed class RecipeOptions
    {
        readonly Option<string?> recipe = new("--recipe") { Description = "A recipe JSON file; options override its fields" };
        readonly List<(RecipeField Field, Option<string?> Option)> fields = [.. PretrainRecipe.Fields.Select(field => (field, new Option<string?>(field.Option)
        {
            Description = field.Description,
            Arity = field.Kind == RecipeFieldKind.Flag ? ArgumentArity.ZeroOrOne : ArgumentArity.ExactlyOne,
        }))];

        public void AddTo(Command command)
        {
            command.Options.Add(recipe);
            foreach (var (_, option) in fields) command.Options.Add(option);
        }

        public PretrainRecipe Load(ParseResult parsed) => PretrainRecipe.Load(parsed.GetValue(recipe), fields
            .Where(f => parsed.GetResult(f.Option) is not null)
            .ToDictionary(f => f.Field.Name, f => parsed.GetValue(f.Option) ?? "", StringComparer.Ordinal));
    }

    /// <summary>
    /// What a run trains on, as its recipe sets it up: the tokenizer, the corpus, the packer and the masking; with
    /// eval_steps, the held-out sequences, whose documents the packer is not given.
    /// </summary>
    internal sealed class TrainingData : IDisposable
    {
        readonly long seed;

        public TrainingData(PretrainRecipe recipe, torch.Device? device = null)
        {
            Tokenizer = TokenizerPath.Load(recipe.Tokenizer!);
            int maskId = Tokenizer.MaskTokenId ?? throw new EncoderKitException(ErrorKind.BadTokenizer, "the tokenizer has no mask token", recipe.Tokenizer);
            int clsId = Tokenizer.ClsTokenId ?? Tokenizer.BosTokenId ?? throw new EncoderKitException(ErrorKind.BadTokenizer, "the tokenizer has no [CLS] or BOS token", recipe.Tokenizer);
            int sepId = Tokenizer.SepTokenId ?? Tokenizer.EosTokenId ?? throw new EncoderKitException(ErrorKind.BadTokenizer, "the tokenizer has no [SEP] or EOS token", recipe.Tokenizer);
            Corpus = PreparedCorpus.Open(recipe.Corpus, Tokenizer);
            Masking = new MlmMasking(recipe.Masking, maskId, Tokenizer.VocabSize, Tokenizer.AddedTokens.Where(t => t.Special).Select(t => t.Id).ToHashSet());
            int padId = Tokenizer.PadTokenId ?? sepId;
            if (recipe.EvalSteps is not null)
            {
                CurriculumStage first = recipe.Curriculum.Stages[0];
                HeldOut = HeldOutEvaluation.Create(Corpus, recipe.EvalSequences, first.SeqLen, first.BatchSize / recipe.GradientAccumulation, Masking, recipe.Seed,
                    clsId, sepId, padId, device ?? torch.CPU);
            }
            Packer = new SequencePacker(Corpus, recipe.NextSentencePrediction ? PackingMode.NextSentencePairs : PackingMode.Fill, recipe.Seed, clsId, sepId, padId,
                HeldOut?.TrainingDocuments);
            seed = recipe.Seed;
        }

        public Tokenizer Tokenizer { get; }
        public PreparedCorpus Corpus { get; }
        public SequencePacker Packer { get; }
        public MlmMasking Masking { get; }
        public HeldOutEvaluation? HeldOut { get; }

        /// <summary>The next sequence, masked as row <paramref name="row"/> of optimizer step <paramref name="step"/>.</summary>
        public MaskedSequence Next(int seqLen, long step, int row) => Masking.Mask(Packer.Next(seqLen), MlmMasking.GeneratorFor(seed, step, row));

        public void Dispose()
        {
            HeldOut?.Dispose();
            Corpus.Dispose();
        }
    }

    static void Run(CliInvocation cli, PretrainRecipe recipe, int? threads, CancellationToken cancellationToken)
    {
        NoteUnverified(cli, recipe);
        var checkpoints = new CheckpointFolders(recipe.Output, recipe.SaveTotalLimit);
        string? resumeFrom = recipe.Resume
            ? checkpoints.Latest() ?? throw new EncoderKitException(ErrorKind.MissingFile, "no checkpoint to resume from", recipe.Output, "resume")
            : null;
        // bf16 is mixed precision: the weights (and the checkpoints) stay float32 and the Trainer's bf16 copy computes.
        var compute = new ComputeOptions { Threads = threads, Logger = cli.Notes, Dtype = ComputeDtype.Float32 };
        using EncoderModel model = resumeFrom is not null || recipe.Model is not null
            ? EncoderModel.Load(resumeFrom ?? recipe.Model!, compute)
            : EncoderModel.CreateRandom(ConfigJson.Load(recipe.Config!), compute, recipe.Seed);
        using var data = new TrainingData(recipe, model.Device);
        CheckModel(model, recipe, data.Tokenizer);

        Directory.CreateDirectory(recipe.Output);
        string? statePath = resumeFrom is null ? null : Path.Combine(resumeFrom, StateFile);
        JsonObject? state = statePath is null ? null : ReadState(statePath);
        LearningRateSchedule schedule = state is null ? recipe.Schedule : ScheduleOnResume(cli, recipe, state);
        var options = new TrainerOptions(schedule)
        {
            WeightDecay = recipe.WeightDecay, GradientAccumulation = recipe.GradientAccumulation, MaxGradNorm = recipe.MaxGradNorm,
            Seed = recipe.Seed, LogFile = Path.Combine(recipe.Output, "train_log.jsonl"),
            ComputeDtype = recipe.Dtype == "bfloat16" ? ComputeDtype.BFloat16 : ComputeDtype.Float32,
        };
        using var trainer = new Trainer<PretrainBatch>(model, (computing, batch) => batch.Loss(computing), options);
        if (resumeFrom is not null)
        {
            trainer.Resume(resumeFrom);
            data.Packer.Position = ReadPosition(state!, statePath!);
            cli.Error.WriteLine($"encoderkit: note: resumed from {resumeFrom} at step {trainer.Step}");
        }
        if (data.HeldOut is { } heldOut)
            cli.Error.WriteLine($"encoderkit: note: {heldOut.Sequences} held-out sequences for evaluation; training packs documents 1–{heldOut.TrainingDocuments.Count:N0} of {data.Corpus.DocumentCount:N0}");

        long tokensSinceLog = 0;
        double secondsSinceLog = 0;
        while (trainer.Step < recipe.MaxSteps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            CurriculumStage stage = recipe.Curriculum.StageAt(trainer.Step);
            int rowsPerMicroBatch = stage.BatchSize / recipe.GradientAccumulation;
            var microBatches = new List<PretrainBatch>();
            long stepTokens = 0;
            MlmScore? score = null;
            StepRecord record;
            var stepClock = Stopwatch.StartNew();
            try
            {
                for (int m = 0; m < recipe.GradientAccumulation; m++)
                {
                    var rows = new List<MaskedSequence>();
                    for (int r = 0; r < rowsPerMicroBatch; r++)
                    {
                        MaskedSequence row = data.Next(stage.SeqLen, trainer.Step, m * rowsPerMicroBatch + r);
                        stepTokens += row.Packed.RealLength;
                        rows.Add(row);
                    }
                    microBatches.Add(PretrainBatch.From(rows, model.Device));
                }
                record = trainer.TrainStep(microBatches, done =>
                {
                    // Throughput of the step alone (data, forward, backward, update), before any evaluation.
                    double seconds = Math.Max(stepClock.Elapsed.TotalSeconds, 1e-9);
                    secondsSinceLog += seconds;
                    List<(string, double)> fields = [("tokens_per_second", stepTokens / seconds), ("seq_len", stage.SeqLen)];
                    if (data.HeldOut is not null && (done.Step % recipe.EvalSteps == 0 || done.Step == recipe.MaxSteps))
                    {
                        score = data.HeldOut.Evaluate(model);
                        fields.Add(("eval_loss", score.Loss));
                        fields.Add(("eval_mlm_accuracy", score.Accuracy));
                    }
                    return fields;
                });
            }
            finally
            {
                foreach (PretrainBatch batch in microBatches) batch.Dispose();
            }
            tokensSinceLog += stepTokens;
            if (score is not null)
                cli.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {record.Step}/{recipe.MaxSteps}  eval_loss {score.Loss:F4}  eval_mlm_accuracy {score.Accuracy:F4}"));
            if (record.Step % recipe.LogSteps == 0 || record.Step == recipe.MaxSteps)
            {
                cli.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"step {record.Step}/{recipe.MaxSteps}  loss {record.Loss:F4}  lr {record.LearningRate:E2}  grad_norm {record.GradNorm:F3}  seq_len {stage.SeqLen}  {tokensSinceLog / Math.Max(secondsSinceLog, 1e-9):F0} tokens/s"));
                tokensSinceLog = 0;
                secondsSinceLog = 0;
            }
            if (record.Step % recipe.SaveSteps == 0 || record.Step == recipe.MaxSteps)
                checkpoints.Write(record.Step, folder =>
                {
                    trainer.Save(folder);
                    CopyTokenizer(recipe.Tokenizer!, folder);
                    WriteState(Path.Combine(folder, StateFile), record.Step, data.Packer.Position, recipe.Seed, schedule);
                });
        }
        model.Save(recipe.Output);
        CopyTokenizer(recipe.Tokenizer!, recipe.Output);
        if (recipe.AverageLast is { } last)
        {
            var newest = checkpoints.Complete().TakeLast(last).Select(c => c.Folder).ToList();
            string averaged = Path.Combine(recipe.Output, "averaged");
            CheckpointAveraging.Average(newest, averaged);
            cli.Out.WriteLine($"averaged {string.Join(", ", newest.Select(Path.GetFileName))} into {averaged}");
        }
        cli.Out.WriteLine($"saved the model to {recipe.Output}");
    }

    /// <summary>The values the recipe file marks as not checked against its model card, one note each, before any compute is spent.</summary>
    internal static void NoteUnverified(CliInvocation cli, PretrainRecipe recipe)
    {
        foreach (var (field, why) in recipe.Unverified)
            cli.Error.WriteLine(field == "_unverified" ? $"encoderkit: note: the recipe marks values as unverified: {why}" : $"encoderkit: note: the recipe's {field} is unverified: {why}");
    }

    /// <summary>
    /// The schedule a resumed run continues with: the one its checkpoint holds, so that a larger max_steps extends the
    /// run without re-spanning its decay, unless the recipe changes the schedule (a field other than its span differs
    /// from the saved one, or schedule_steps is given); then the recipe's. A checkpoint from before schedules were saved
    /// continues with the recipe's.
    /// </summary>
    static LearningRateSchedule ScheduleOnResume(CliInvocation cli, PretrainRecipe recipe, JsonObject state)
    {
        if (state["schedule"] is not JsonObject saved) return recipe.Schedule;
        LearningRateSchedule started = ScheduleJson.Read(saved);
        if (recipe.ScheduleStepsGiven || started.TrainingSteps is not { } span || recipe.ScheduleOver(span) != started) return recipe.Schedule;
        if (span != recipe.Schedule.TrainingSteps)
            cli.Error.WriteLine($"encoderkit: note: the learning-rate schedule stays the one the run started with, spanning {span:N0} steps (give schedule_steps to span another count)");
        return started;
    }

    static void CheckModel(EncoderModel model, PretrainRecipe recipe, Tokenizer tokenizer)
    {
        string source = recipe.Config ?? recipe.Model!;
        if (model.Spec.Heads.Mlm is null)
            throw new EncoderKitException(ErrorKind.BadConfig, "the model has no MLM head; name a *ForMaskedLM or *ForPreTraining class in architectures", source, "architectures");
        if (recipe.NextSentencePrediction && model.Spec.Heads.Get<NspHeadSpec>() is null)
            throw new EncoderKitException(ErrorKind.BadConfig, "nsp needs a next-sentence head (BertForPreTraining)", source, "architectures");
        int longest = recipe.Curriculum.Stages.Max(s => s.SeqLen);
        if (model.Spec.MaxPositions is { } positions && longest > positions)
            throw new EncoderKitException(ErrorKind.BadInput, $"sequences of {longest} tokens, but the model has {positions} positions (max_position_embeddings)", source, "seq_len");
        if (tokenizer.VocabSize > model.Spec.Embeddings.VocabSize)
            throw new EncoderKitException(ErrorKind.BadConfig, $"the tokenizer has {tokenizer.VocabSize} tokens, the model's vocab_size is {model.Spec.Embeddings.VocabSize}", source, "vocab_size");
    }

    // The tokenizer's own files, so that a checkpoint and the output are complete model folders fill-mask loads.
    static void CopyTokenizer(string tokenizer, string folder)
    {
        string[] files = File.Exists(tokenizer) ? [tokenizer]
            : [.. Directory.GetFiles(tokenizer).Where(f => Path.GetFileName(f) is "tokenizer.json" or "tokenizer_config.json" or "special_tokens_map.json" or "vocab.txt"
                || f.EndsWith(".model", StringComparison.Ordinal))];
        foreach (string file in files)
        {
            string target = Path.Combine(folder, Path.GetFileName(file));
            if (Path.GetFullPath(file) == Path.GetFullPath(target)) continue;
            AtomicFile.Write(target, stream =>
            {
                using FileStream source = File.OpenRead(file);
                source.CopyTo(stream);
            });
        }
    }

    static void WriteState(string path, long step, PackingPosition position, long seed, LearningRateSchedule schedule) => AtomicFile.Write(path, stream =>
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        writer.WriteStartObject();
        writer.WriteNumber("step", step);
        writer.WriteNumber("seed", seed);
        writer.WriteStartObject("packing");
        writer.WriteNumber("epoch", position.Epoch);
        writer.WriteNumber("document_in_order", position.DocumentInOrder);
        writer.WriteNumber("token_in_document", position.TokenInDocument);
        writer.WriteNumber("sequence_in_epoch", position.SequenceInEpoch);
        writer.WriteEndObject();
        writer.WriteString("masking", "drawn from generators seeded by (seed, step, row): nothing stored");
        writer.WritePropertyName("schedule");
        ScheduleJson.Write(writer, schedule);
        writer.WriteEndObject();
    });

    static JsonObject ReadState(string path)
    {
        if (!File.Exists(path)) throw new EncoderKitException(ErrorKind.BadCheckpoint, "missing: the checkpoint holds no packing position", path);
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(path)) as JsonObject ?? throw new EncoderKitException(ErrorKind.BadCheckpoint, "not a JSON object", path);
        }
        catch (JsonException e)
        {
            throw new EncoderKitException(ErrorKind.BadCheckpoint, $"malformed JSON: {e.Message}", path, inner: e);
        }
    }

    static PackingPosition ReadPosition(JsonObject state, string path)
    {
        JsonNode? packing = state["packing"];
        long Field(string name) => packing?[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is var x && x >= 0 && x == Math.Floor(x) ? (long)x
            : throw new EncoderKitException(ErrorKind.BadCheckpoint, "missing, or not a non-negative integer", path, "packing." + name);
        return new PackingPosition(Field("epoch"), Field("document_in_order"), (int)Field("token_in_document"), Field("sequence_in_epoch"));
    }

    /// <summary>A schedule in pretrain_state.json: the record's properties by name, kinds as their names.</summary>
    static class ScheduleJson
    {
        static readonly JsonSerializerOptions Options = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

        public static void Write(Utf8JsonWriter writer, LearningRateSchedule schedule) => JsonSerializer.Serialize(writer, schedule, Options);

        public static LearningRateSchedule Read(JsonObject saved)
        {
            try
            {
                return saved.Deserialize<LearningRateSchedule>(Options) ?? throw new JsonException("null");
            }
            catch (JsonException e)
            {
                throw new EncoderKitException(ErrorKind.BadCheckpoint, $"not a learning-rate schedule: {e.Message}", StateFile, "schedule", inner: e);
            }
        }
    }
}
