using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.IO;
using EncoderKit.Training;

namespace EncoderKit.Pretraining;

/// <summary>How a recipe field is written: as a JSON value in the recipe file, and as a command-line option's text.</summary>
public enum RecipeFieldKind
{
    /// <summary>A file or folder; in a recipe file relative to the file's folder.</summary>
    Path,
    Text,
    Integer,
    Number,

    /// <summary>true/false; on the command line the bare option means true.</summary>
    Flag,

    /// <summary>"128:900,512:100" (length:steps[:batch] stages), or in a recipe file a list of {seq_len, steps, batch_size}.</summary>
    Curriculum,
}

/// <summary>A recipe field: its JSON name, which is also its option (--max-steps for max_steps).</summary>
public sealed record RecipeField(string Name, RecipeFieldKind Kind, string Description)
{
    public string Option => "--" + Name.Replace('_', '-');
}

/// <summary>
/// An MLM pretraining run written down: recipe.json, whose every field the command line can override. Fields whose
/// name starts with "_" are comments (where a recipe says which model card it follows); any other unknown field is an
/// error, so a misspelt knob never silently takes its default.
/// </summary>
public sealed record PretrainRecipe
{
    public static IReadOnlyList<RecipeField> Fields { get; } =
    [
        new("config", RecipeFieldKind.Path, "config.json of a model to pretrain from scratch (its architectures must name a *ForMaskedLM or *ForPreTraining class)"),
        new("model", RecipeFieldKind.Path, "A model folder to continue pretraining from"),
        new("tokenizer", RecipeFieldKind.Path, "Tokenizer folder or file (default: the model folder)"),
        new("corpus", RecipeFieldKind.Path, "A folder prepare-corpus wrote"),
        new("output", RecipeFieldKind.Path, "Where checkpoints, train_log.jsonl and the final model go"),
        new("max_steps", RecipeFieldKind.Integer, "Optimizer steps (default: the curriculum's total)"),
        new("batch_size", RecipeFieldKind.Integer, "Sequences per optimizer step (default 32)"),
        new("gradient_accumulation", RecipeFieldKind.Integer, "Micro-batches per optimizer step, splitting the batch (default 1)"),
        new("seq_len", RecipeFieldKind.Integer, "Sequence length (default 128); or --curriculum"),
        new("curriculum", RecipeFieldKind.Curriculum, "Length stages, length:steps[:batch],… e.g. 128:900,512:100"),
        new("nsp", RecipeFieldKind.Flag, "BERT's sentence pairs with next-sentence prediction (needs an NSP head) instead of filled sequences"),
        new("learning_rate", RecipeFieldKind.Number, "Peak learning rate (default 1e-4)"),
        new("scheduler", RecipeFieldKind.Text, "linear, cosine, cosine_with_min_lr, polynomial, constant, constant_with_warmup, warmup_stable_decay, … (default linear)"),
        new("warmup_steps", RecipeFieldKind.Integer, "Linear warmup steps (default 0)"),
        new("warmup_ratio", RecipeFieldKind.Number, "Warmup as a fraction of max_steps, instead of warmup_steps"),
        new("min_lr", RecipeFieldKind.Number, "Floor of cosine_with_min_lr and warmup_stable_decay; polynomial's end rate (linear decay to it, Megatron's min_lr)"),
        new("decay_steps", RecipeFieldKind.Integer, "warmup_stable_decay's decay steps"),
        new("schedule_steps", RecipeFieldKind.Integer, "The steps the schedule spans (default: max_steps; a resumed run keeps the span it started with unless the recipe changes the schedule)"),
        new("weight_decay", RecipeFieldKind.Number, "AdamW weight decay (default 0.01)"),
        new("max_grad_norm", RecipeFieldKind.Number, "Gradient clipping by global norm (default 1.0; 0 for none)"),
        new("mlm_probability", RecipeFieldKind.Number, "Share of tokens chosen for prediction (default 0.15)"),
        new("mask_replace_prob", RecipeFieldKind.Number, "Of the chosen, share replaced by the mask token (default 0.8)"),
        new("random_replace_prob", RecipeFieldKind.Number, "Of the chosen, share replaced by a random token (default 0.1)"),
        new("whole_word_masking", RecipeFieldKind.Flag, "Choose whole words (the corpus's word marks: tokenizer or MeCab)"),
        new("seed", RecipeFieldKind.Integer, "Seed of initialisation, data order, masking and dropout (default 42)"),
        new("save_steps", RecipeFieldKind.Integer, "Checkpoint every N steps (default 500)"),
        new("save_total_limit", RecipeFieldKind.Integer, "Checkpoints kept (default 2)"),
        new("average_last", RecipeFieldKind.Integer, "At the end, average the last K checkpoints into output/averaged"),
        new("eval_steps", RecipeFieldKind.Integer, "Every N steps, MLM loss and accuracy on held-out sequences (eval_loss, eval_mlm_accuracy in train_log.jsonl)"),
        new("eval_sequences", RecipeFieldKind.Integer, "Held-out sequences for eval_steps (default 64): the corpus's last documents, packed at the first stage's length, which training never sees"),
        new("log_steps", RecipeFieldKind.Integer, "Print a progress line every N steps (default 10; train_log.jsonl has every step)"),
        new("dtype", RecipeFieldKind.Text, "float32 or bfloat16 weights (default float32)"),
        new("resume", RecipeFieldKind.Flag, "Continue from the newest checkpoint in the output folder"),
    ];

    public string? Config { get; init; }
    public string? Model { get; init; }
    public string? Tokenizer { get; init; }
    public required string Corpus { get; init; }
    public required string Output { get; init; }
    public long MaxSteps { get; init; }
    public int BatchSize { get; init; } = 32;
    public int GradientAccumulation { get; init; } = 1;
    public required LengthCurriculum Curriculum { get; init; }
    public bool NextSentencePrediction { get; init; }
    public required LearningRateSchedule Schedule { get; init; }

    /// <summary>schedule_steps was given: the schedule's span is the recipe's even when a resumed run started with another.</summary>
    public bool ScheduleStepsGiven { get; init; }

    /// <summary>warmup_ratio, when the warmup is a fraction of the schedule's span rather than a step count.</summary>
    public double? WarmupRatio { get; init; }
    public double WeightDecay { get; init; } = 0.01;
    public double? MaxGradNorm { get; init; } = 1.0;
    public MaskingOptions Masking { get; init; } = new();
    public long Seed { get; init; } = 42;
    public long SaveSteps { get; init; } = 500;
    public int SaveTotalLimit { get; init; } = 2;
    public int? AverageLast { get; init; }
    public long? EvalSteps { get; init; }
    public int EvalSequences { get; init; } = 64;
    public int LogSteps { get; init; } = 10;
    public string Dtype { get; init; } = "float32";
    public bool Resume { get; init; }

    /// <summary>
    /// The "_unverified" comment of the recipe file: field → why its value is not checked against the model card (or
    /// "_unverified" → the whole comment when it is a string); a run prints each as a note.
    /// </summary>
    public IReadOnlyDictionary<string, string> Unverified { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The recipe's schedule spanning <paramref name="steps"/> steps (a warmup_ratio is a share of them): what the recipe
    /// says for a run that started with that span, to compare with the schedule a checkpoint holds.
    /// </summary>
    public LearningRateSchedule ScheduleOver(long steps) => Schedule with
    {
        TrainingSteps = steps,
        WarmupSteps = WarmupRatio is { } ratio ? LearningRateSchedule.WarmupStepsFromRatio(ratio, steps) : Schedule.WarmupSteps,
    };

    /// <summary>
    /// The recipe in <paramref name="recipeFile"/> (none: every field from <paramref name="overrides"/>), each field of
    /// <paramref name="overrides"/> (field name → the option's text; "" for a bare flag) replacing the file's.
    /// </summary>
    /// <exception cref="EncoderKitException">An unknown field, a value of the wrong kind or out of range, a missing required field.</exception>
    public static PretrainRecipe Load(string? recipeFile, IReadOnlyDictionary<string, string> overrides)
    {
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var unverified = new Dictionary<string, string>(StringComparer.Ordinal);
        var known = Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        if (recipeFile is not null)
        {
            JsonObject root = PythonJson.Parse(PythonJson.ReadFile(recipeFile), recipeFile, ErrorKind.BadConfig) as JsonObject
                ?? throw new EncoderKitException(ErrorKind.BadConfig, "a recipe is a JSON object", recipeFile);
            string folder = Path.GetDirectoryName(Path.GetFullPath(recipeFile))!;
            foreach (var (name, value) in root)
            {
                if (name == "_unverified") ReadUnverified(value, unverified);
                if (name.StartsWith('_')) continue;
                if (!known.TryGetValue(name, out RecipeField? field))
                    throw new EncoderKitException(ErrorKind.BadConfig, $"unknown field; the fields are {string.Join(", ", Fields.Select(f => f.Name))}", recipeFile, name);
                values[name] = field.Kind == RecipeFieldKind.Path && value is JsonValue v && v.GetValueKind() == JsonValueKind.String
                    ? Path.GetFullPath(Path.Combine(folder, v.GetValue<string>()))
                    : value?.DeepClone();
            }
        }
        foreach (var (name, text) in overrides)
        {
            RecipeField field = known.TryGetValue(name, out RecipeField? f) ? f
                : throw new EncoderKitException(ErrorKind.BadInput, "unknown recipe field", field: name);
            values[name] = FromText(field, text);
        }
        return new Reader(values, recipeFile).Build() with { Unverified = unverified };
    }

    // A comment, but one a run repeats: {"field": "why"} or a string.
    static void ReadUnverified(JsonNode? value, Dictionary<string, string> unverified)
    {
        if (value is JsonObject fields)
        {
            foreach (var (field, why) in fields) unverified[field] = why?.ToString() ?? "";
        }
        else if (value is not null) unverified["_unverified"] = value.ToString();
    }

    static JsonNode FromText(RecipeField field, string text)
    {
        EncoderKitException Bad(string kind) => new(ErrorKind.BadInput, $"\"{text}\" is not {kind}", field: field.Option);
        return field.Kind switch
        {
            // Numbers as parsed JSON, so they read back exactly as a recipe file's do.
            RecipeFieldKind.Integer => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) ? JsonNode.Parse(n.ToString(CultureInfo.InvariantCulture))! : throw Bad("an integer"),
            RecipeFieldKind.Number => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x)
                ? JsonNode.Parse(x.ToString("R", CultureInfo.InvariantCulture))! : throw Bad("a number"),
            RecipeFieldKind.Flag => text is "" or "true" ? JsonValue.Create(true) : text == "false" ? JsonValue.Create(false) : throw Bad("true or false"),
            RecipeFieldKind.Path => JsonValue.Create(Path.GetFullPath(text)),
            _ => JsonValue.Create(text),
        };
    }

    /// <summary>Typed, range-checked reads of the merged fields; an error names the recipe file and the field.</summary>
    sealed class Reader(Dictionary<string, JsonNode?> values, string? file)
    {
        EncoderKitException Bad(string field, string problem) => new(ErrorKind.BadConfig, problem, file, field);

        T? Get<T>(string field, JsonValueKind kind, string what) where T : struct
        {
            if (!values.TryGetValue(field, out JsonNode? node) || node is null) return null;
            if (node.GetValueKind() != kind) throw Bad(field, $"{PythonJson.Describe(node)} is not {what}");
            try
            {
                return node.GetValue<T>();
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw Bad(field, $"{PythonJson.Describe(node)} is not {what}");
            }
        }

        long? Integer(string field, long minimum)
        {
            if (Get<double>(field, JsonValueKind.Number, "an integer") is not { } x) return null;
            if (x != Math.Floor(x) || Math.Abs(x) > 1e15) throw Bad(field, $"{x} is not an integer");
            return x >= minimum ? (long)x : throw Bad(field, $"{x} is not ≥ {minimum}");
        }

        int? Int(string field, int minimum) => Integer(field, minimum) is { } n ? n <= int.MaxValue ? (int)n : throw Bad(field, $"{n} is too large") : null;

        double? Number(string field) => Get<double>(field, JsonValueKind.Number, "a number");

        bool Flag(string field) => values.TryGetValue(field, out JsonNode? node) && node is not null && node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(field, $"{PythonJson.Describe(node)} is not true or false"),
        };

        string? Text(string field)
        {
            if (!values.TryGetValue(field, out JsonNode? node) || node is null) return null;
            return node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : throw Bad(field, $"{PythonJson.Describe(node)} is not a string");
        }

        string Required(string field) => Text(field) ?? throw Bad(field, "missing (a recipe field or the option --" + field.Replace('_', '-') + ")");

        public PretrainRecipe Build()
        {
            string? config = Text("config"), model = Text("model");
            if ((config is null) == (model is null)) throw Bad("config", "give exactly one of config (from scratch) and model (continued pretraining)");
            string? tokenizer = Text("tokenizer") ?? model;
            if (tokenizer is null) throw Bad("tokenizer", "missing: pretraining from a config needs a tokenizer");
            int batchSize = Int("batch_size", 1) ?? 32, accumulation = Int("gradient_accumulation", 1) ?? 1;
            LengthCurriculum curriculum = Curriculum(batchSize);
            foreach (CurriculumStage stage in curriculum.Stages)
            {
                if (stage.BatchSize % accumulation != 0)
                    throw Bad("gradient_accumulation", $"a batch of {stage.BatchSize} sequences does not split into {accumulation} micro-batches");
            }
            long maxSteps = Integer("max_steps", 1) ?? (values.ContainsKey("curriculum") ? curriculum.TotalSteps : throw Bad("max_steps", "missing (or give a curriculum)"));
            long? scheduleSteps = Integer("schedule_steps", 1);
            LearningRateSchedule schedule = Schedule(scheduleSteps ?? maxSteps);
            var masking = new MaskingOptions
            {
                MlmProbability = Number("mlm_probability") ?? 0.15,
                MaskReplaceProbability = Number("mask_replace_prob") ?? 0.8,
                RandomReplaceProbability = Number("random_replace_prob") ?? 0.1,
                WholeWordMasking = Flag("whole_word_masking"),
            };
            try
            {
                masking.Validate();
            }
            catch (EncoderKitException e)
            {
                throw Bad(e.Field!, e.Problem);
            }
            double weightDecay = Number("weight_decay") ?? 0.01, maxGradNorm = Number("max_grad_norm") ?? 1.0;
            if (!(weightDecay >= 0)) throw Bad("weight_decay", $"{weightDecay} is negative");
            if (!(maxGradNorm >= 0)) throw Bad("max_grad_norm", $"{maxGradNorm} is negative");
            // The other commands' spellings (fp32, bf16) name the same two dtypes.
            string dtype = Text("dtype") switch
            {
                null or "float32" or "fp32" => "float32",
                "bfloat16" or "bf16" => "bfloat16",
                var other => throw Bad("dtype", $"\"{other}\" is not float32 (fp32) or bfloat16 (bf16)"),
            };
            int saveTotalLimit = Int("save_total_limit", 1) ?? 2;
            int? averageLast = Int("average_last", 2);
            if (averageLast > saveTotalLimit) throw Bad("average_last", $"averaging the last {averageLast} checkpoints needs save_total_limit ≥ {averageLast}, not {saveTotalLimit}");
            return new PretrainRecipe
            {
                Config = config,
                Model = model,
                Tokenizer = tokenizer,
                Corpus = Required("corpus"),
                Output = Required("output"),
                MaxSteps = maxSteps,
                BatchSize = batchSize,
                GradientAccumulation = accumulation,
                Curriculum = curriculum,
                NextSentencePrediction = Flag("nsp"),
                Schedule = schedule,
                WeightDecay = weightDecay,
                MaxGradNorm = maxGradNorm > 0 ? maxGradNorm : null,
                Masking = masking,
                Seed = Integer("seed", long.MinValue) ?? 42,
                SaveSteps = Integer("save_steps", 1) ?? 500,
                SaveTotalLimit = saveTotalLimit,
                AverageLast = averageLast,
                EvalSteps = Integer("eval_steps", 1),
                EvalSequences = Int("eval_sequences", 1) ?? 64,
                ScheduleStepsGiven = scheduleSteps is not null,
                WarmupRatio = Number("warmup_ratio"),
                LogSteps = Int("log_steps", 1) ?? 10,
                Dtype = dtype,
                Resume = Flag("resume"),
            };
        }

        LengthCurriculum Curriculum(int batchSize)
        {
            bool hasLength = values.TryGetValue("seq_len", out JsonNode? length) && length is not null;
            if (!values.TryGetValue("curriculum", out JsonNode? node) || node is null)
                return new LengthCurriculum([new CurriculumStage(Int("seq_len", 1) ?? 128, long.MaxValue, batchSize)]);
            if (hasLength) throw Bad("seq_len", "give seq_len or curriculum, not both");
            try
            {
                if (node.GetValueKind() == JsonValueKind.String) return LengthCurriculum.Parse(node.GetValue<string>(), batchSize, file);
                if (node is not JsonArray stages) throw Bad("curriculum", $"{PythonJson.Describe(node)} is neither \"length:steps,…\" nor a list of stages");
                return new LengthCurriculum([.. stages.Select(s => s is JsonObject stage
                    ? new CurriculumStage(StageField(stage, "seq_len") is var l and <= int.MaxValue ? (int)l : throw Bad("curriculum", "seq_len too large"),
                        StageField(stage, "steps"),
                        stage.ContainsKey("batch_size") ? (int)Math.Min(StageField(stage, "batch_size"), int.MaxValue) : batchSize)
                    : throw Bad("curriculum", "a stage is not an object {seq_len, steps[, batch_size]}"))]);
            }
            catch (EncoderKitException e) when (e.File != file)
            {
                throw Bad("curriculum", e.Problem);
            }
        }

        long StageField(JsonObject stage, string name) =>
            stage[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is var x && x == Math.Floor(x) && x >= 1 && x < 1e15 ? (long)x
                : throw Bad("curriculum", $"a stage's {name} is missing or not a positive integer");

        LearningRateSchedule Schedule(long maxSteps)
        {
            string name = Text("scheduler") ?? "linear";
            ScheduleKind kind;
            try
            {
                kind = LearningRateSchedule.ParseKind(name);
            }
            catch (EncoderKitException e)
            {
                throw Bad("scheduler", e.Problem);
            }
            double rate = Number("learning_rate") ?? 1e-4;
            long? warmupSteps = Integer("warmup_steps", 0);
            double? warmupRatio = Number("warmup_ratio"), minLr = Number("min_lr");
            if (warmupSteps is not null && warmupRatio is not null) throw Bad("warmup_ratio", "give warmup_steps or warmup_ratio, not both");
            if (minLr is < 0) throw Bad("min_lr", $"{minLr} is negative");
            long warmup = warmupSteps ?? (warmupRatio is { } ratio ? WarmupFromRatio(ratio, maxSteps) : 0);
            var schedule = new LearningRateSchedule(kind, rate, warmup, maxSteps) { DecaySteps = Integer("decay_steps", 1) };
            schedule = (kind, minLr) switch
            {
                (_, null) => schedule,
                (ScheduleKind.CosineWithMinLr, { } min) => schedule with { MinLearningRate = min },
                (ScheduleKind.Polynomial, { } min) => schedule with { PolynomialEnd = min },
                (ScheduleKind.WarmupStableDecay, { } min) => schedule with { MinLearningRateRatio = min / rate },
                _ => throw Bad("min_lr", $"the {name} schedule has no minimum; use cosine_with_min_lr, polynomial (linear decay to min_lr) or warmup_stable_decay"),
            };
            try
            {
                return schedule.Validate();
            }
            catch (EncoderKitException e)
            {
                throw Bad(e.Field ?? "scheduler", e.Problem);
            }
        }

        long WarmupFromRatio(double ratio, long maxSteps)
        {
            try
            {
                return LearningRateSchedule.WarmupStepsFromRatio(ratio, maxSteps);
            }
            catch (EncoderKitException e)
            {
                throw Bad("warmup_ratio", e.Problem);
            }
        }
    }
}
