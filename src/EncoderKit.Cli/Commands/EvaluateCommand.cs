using System.CommandLine;
using System.Globalization;
using EncoderKit.Compute;
using EncoderKit.Evaluation;
using EncoderKit.FineTuning;
using EncoderKit.Inference;
using EncoderKit.IO;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Training;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit evaluate --model M --task T --data PATH [--output results.json]</c>, or <c>--suite suite.json</c>:
/// a GLUE / JGLUE task through the model's sequence classifier (JCommonsenseQA: multiple-choice head; JSQuAD:
/// question-answering head), or with <c>--finetune</c> through a head first fine-tuned on the task's train split with the
/// benchmark's recipe; or an embedding task type (retrieval, sts, pair-classification, classification, clustering,
/// reranking, summarization) on data in MTEB's layouts through the model as a sentence encoder. Results are written in
/// MTEB's result JSON layout; a suite writes one file per task, a summary table (summary.md, summary.csv) averaged per task type as the MTEB leaderboard averages, and keeps the
/// embeddings of every text it embedded under its output folder, so a text shared by several tasks is embedded once.
/// </summary>
static class EvaluateCommand
{
    /// <summary>The embedding task types by their command-line names.</summary>
    static readonly Dictionary<string, EmbeddingTaskType> EmbeddingTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["retrieval"] = EmbeddingTaskType.Retrieval,
        ["sts"] = EmbeddingTaskType.Sts,
        ["pair-classification"] = EmbeddingTaskType.PairClassification,
        ["classification"] = EmbeddingTaskType.Classification,
        ["clustering"] = EmbeddingTaskType.Clustering,
        ["reranking"] = EmbeddingTaskType.Reranking,
        ["summarization"] = EmbeddingTaskType.Summarization,
    };

    /// <summary>The metrics the terminal table shows (when a task reports them), besides the main score.</summary>
    static readonly string[] Headline =
    [
        "ndcg_at_10", "map_at_10", "mrr_at_10", "recall_at_100", "precision_at_1", "cosine_spearman", "cosine_pearson", "cosine_ap",
        "cosine_accuracy", "cosine_f1", "accuracy", "exact_match", "f1", "f1_weighted", "v_measure", "map", "matthews_correlation", "pearson", "spearmanr",
    ];

    public static Command Create(CliInvocation cli)
    {
        var model = new SentenceModelOptions();
        var task = new Option<string?>("--task", "-t") { Description = $"glue/cola … jglue/jnli, or an embedding task type: {string.Join(", ", EmbeddingTypes.Keys)}" };
        var data = new Option<string?>("--data", "-d") { Description = "The task's data: a GLUE task folder, a JGLUE folder, a BEIR folder, a JSONL file or a classification folder" };
        var suite = new Option<string?>("--suite") { Description = "A JSON file listing tasks ({\"tasks\": [{\"task\", \"data\", \"name\"?, \"split\"?, \"languages\"?, \"score_range\"?}]}), paths relative to it" };
        var output = new Option<string?>("--output", "-o") { Description = "Result JSON file (one task), or results folder (a suite; default: results/ beside the suite file)" };
        var split = new Option<string?>("--split") { Description = "Split to score (default: test for embedding tasks, dev for GLUE, valid for JGLUE)" };
        var name = new Option<string?>("--name") { Description = "task_name to record for an embedding task (default: the data's file or folder name)" };
        var queryPrompt = new Option<string?>("--query-prompt") { Description = "Retrieval queries: a prompt name of the model or a literal prompt (default: its \"query\" prompt)" };
        var documentPrompt = new Option<string?>("--document-prompt") { Description = "Retrieval documents: a prompt name or a literal prompt (default: its document prompt)" };
        var prompt = new Option<string?>("--prompt") { Description = "Other embedding tasks: a prompt name or a literal prompt (default: none)" };
        var scoreRange = new Option<string?>("--score-range") { Description = "STS: the range gold scores lie in, MIN,MAX (default 0,5)" };
        var samplesPerLabel = new Option<int>("--samples-per-label") { Description = "Classification: training examples per label in each experiment", DefaultValueFactory = _ => 8 };
        var experiments = new Option<int>("--experiments") { Description = "Classification: resampled experiments averaged", DefaultValueFactory = _ => 10 };
        var language = new Option<string[]>("--language") { Description = "Language code(s) to record for an embedding task, e.g. eng-Latn", AllowMultipleArgumentsPerToken = false };
        var finetune = new Option<bool>("--finetune") { Description = "GLUE / JGLUE: fine-tune --model (a base model) on the task's train split first, with the benchmark's recipe, then score that" };
        var finetuneOutput = new Option<string?>("--finetune-output") { Description = "Folder the fine-tuned models go in, one per task (default: finetuned/ beside the results, or in the current folder)" };
        var learningRate = new Option<double?>("--learning-rate") { Description = "--finetune: peak learning rate (default: GLUE 2e-5, JGLUE 5e-5)" };
        var trainBatchSize = new Option<int?>("--train-batch-size") { Description = "--finetune: training examples per step (default 32; JCommonsenseQA 64)" };
        var epochs = new Option<int?>("--epochs") { Description = "--finetune: passes over the train split (default: GLUE 3, JGLUE 4, JSQuAD 3)" };
        var maxSeqLength = new Option<int?>("--max-seq-length") { Description = "--finetune: most tokens per input (default: GLUE 128; JGLUE as its README: MARC-ja 512, JSQuAD 384, JCommonsenseQA 64, else 128)" };
        var warmupRatio = new Option<double?>("--warmup-ratio") { Description = "--finetune: warmup as a fraction of all steps (default: GLUE 0, JGLUE 0.1)" };
        var seed = new Option<long?>("--seed") { Description = "--finetune: seed of the head's initialisation, the data order and dropout (default 42)" };
        var resume = new Option<bool>("--resume") { Description = "--finetune: continue each task's run from the newest checkpoint in its folder (a finished run is scored without training again)" };
        var command = new Command("evaluate", "Score a model on GLUE / JGLUE tasks or MTEB-style embedding tasks; results in MTEB's JSON layout")
        {
            task, data, suite, output, split, name, queryPrompt, documentPrompt, prompt, scoreRange, samplesPerLabel, experiments, language,
            finetune, finetuneOutput, learningRate, trainBatchSize, epochs, maxSeqLength, warmupRatio, seed, resume,
        };
        model.AddTo(command);
        command.SetAction(async (parsed, cancellationToken) =>
        {
            string? suiteFile = parsed.GetValue(suite);
            List<SuiteEntry> specs;
            if (suiteFile is not null)
            {
                if (parsed.GetValue(task) is not null || parsed.GetValue(data) is not null)
                    throw new EncoderKitException(ErrorKind.BadInput, "give --suite, or --task with --data, not both", field: "--suite");
                specs = [.. EvaluationSuite.Read(suiteFile)];
            }
            else
            {
                string t = parsed.GetValue(task) ?? throw new EncoderKitException(ErrorKind.BadInput, "give --task (with --data), or --suite", field: "--task");
                string d = parsed.GetValue(data) ?? throw new EncoderKitException(ErrorKind.BadInput, "give --data: where the task's files are", field: "--data");
                specs = [new SuiteEntry(t, d, parsed.GetValue(name), parsed.GetValue(split), parsed.GetValue(language) is { Length: > 0 } l ? l : null,
                    ParseRange(parsed.GetValue(scoreRange)), "--task")];
            }
            foreach (SuiteEntry spec in specs) Check(spec);
            bool tune = parsed.GetValue(finetune);
            if (tune && specs.FirstOrDefault(s => EmbeddingTypes.ContainsKey(s.Task)) is { } embedding)
                throw new EncoderKitException(ErrorKind.BadInput, $"--finetune is for GLUE and JGLUE tasks; {embedding.Task} scores the model's embeddings as they are", field: "--finetune");
            if (parsed.GetValue(samplesPerLabel) < 1) throw new EncoderKitException(ErrorKind.BadInput, "must be at least 1", field: "--samples-per-label");
            if (parsed.GetValue(experiments) < 1) throw new EncoderKitException(ErrorKind.BadInput, "must be at least 1", field: "--experiments");

            string? outputPath = parsed.GetValue(output);
            string? folder = suiteFile is not null ? outputPath ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(suiteFile))!, "results")
                : outputPath is null ? null : Path.GetDirectoryName(Path.GetFullPath(outputPath));
            if (folder is not null) Directory.CreateDirectory(folder);
            var cache = folder is null ? null : new TextEmbeddingCache(Path.Combine(folder, "embedding-cache"));
            var (modelName, revision) = model.Named(parsed);
            string TunedFolder(SuiteEntry spec) =>
                Path.Combine(parsed.GetValue(finetuneOutput) ?? Path.Combine(folder ?? ".", "finetuned"), FileStem(BenchmarkTasks.Find(spec.Task)!.Name));
            bool resuming = parsed.GetValue(resume);
            if (resuming && !tune) throw new EncoderKitException(ErrorKind.BadInput, "continues an interrupted --finetune run; give --finetune too", field: "--resume");
            if (tune)
                foreach (var (spec, i) in specs.Select((s, i) => (s, i)))   // before any task runs
                {
                    BenchmarkTasks.TrainFile(BenchmarkTasks.Find(spec.Task)!, spec.Data);
                    string tuned = TunedFolder(spec);
                    if (specs.Take(i).Any(s => TunedFolder(s) == tuned))
                        throw new EncoderKitException(ErrorKind.BadInput, "is the fine-tuning folder of two tasks; give another --finetune-output", tuned, "--finetune-output");
                    bool holdsFiles = Directory.Exists(tuned) && Directory.EnumerateFileSystemEntries(tuned).Any();
                    if (holdsFiles && !resuming)
                        throw new EncoderKitException(ErrorKind.BadInput, "already holds a fine-tuned model or run; pass --resume to continue it, remove it, or give another --finetune-output", tuned, "--finetune-output");
                    if (holdsFiles && TrainingRuns.LatestCheckpoint(tuned) is null)
                        throw new EncoderKitException(ErrorKind.BadInput, "holds files but no checkpoint of a run to resume; remove it, or give another --finetune-output", tuned, "--finetune-output");
                }

            SentenceEncoder? encoder = null;
            EncoderModel? classifierModel = null;
            string? baseFolder = null;
            try
            {
                var results = new List<TaskResult>();
                for (int i = 0; i < specs.Count; i++)
                {
                    SuiteEntry spec = specs[i];
                    if (specs.Count > 1) cli.Error.WriteLine($"encoderkit: task {i + 1}/{specs.Count}: {spec.Task} on {spec.Data}");
                    TaskResult result;
                    if (EmbeddingTypes.TryGetValue(spec.Task, out EmbeddingTaskType type))
                    {
                        encoder ??= await model.LoadAsync(parsed, cli, cancellationToken);
                        var evaluator = new EmbeddingTaskEvaluator(encoder, cache)
                        {
                            ShowProgress = (title, total, work) => EncodeProgressView.Run(cli, title, total, encoder.BatchSize, work),
                        };
                        var options = new EmbeddingEvaluationOptions
                        {
                            QueryPrompt = parsed.GetValue(queryPrompt), DocumentPrompt = parsed.GetValue(documentPrompt), Prompt = parsed.GetValue(prompt),
                            Dimensions = parsed.GetValue(model.Dim), BatchSize = parsed.GetValue(model.BatchSize), Split = spec.Split ?? "test",
                            StsScoreRange = spec.ScoreRange ?? (0, 5), SamplesPerLabel = parsed.GetValue(samplesPerLabel), Experiments = parsed.GetValue(experiments),
                        };
                        string taskName = spec.Name ?? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(spec.Data));
                        result = evaluator.Evaluate(type, spec.Data, taskName, spec.Languages, options, cancellationToken) with { ModelName = modelName, ModelRevision = revision };
                    }
                    else
                    {
                        BenchmarkTask benchmark = BenchmarkTasks.Find(spec.Task)!;
                        string split = spec.Split ?? (benchmark.Benchmark == "GLUE" ? "dev" : "valid");
                        if (tune)
                        {
                            baseFolder ??= await model.ResolveFolderAsync(parsed, cli, cancellationToken);
                            FineTuningRecipe defaults = BenchmarkFineTuning.Recipe(benchmark);
                            var recipe = new FineTuningRecipe(parsed.GetValue(learningRate) ?? defaults.LearningRate, parsed.GetValue(trainBatchSize) ?? defaults.BatchSize,
                                parsed.GetValue(epochs) ?? defaults.Epochs, parsed.GetValue(maxSeqLength) ?? defaults.MaxSeqLength,
                                parsed.GetValue(warmupRatio) ?? defaults.WarmupRatio, parsed.GetValue(seed) ?? defaults.Seed);
                            ComputeOptions compute = model.Compute(parsed, cli);
                            string tuned = await FineTuneAsync(cli, benchmark, spec.Data, baseFolder, recipe, TunedFolder(spec), compute, resuming, cancellationToken);
                            using EncoderModel tunedModel = EncoderModel.Load(tuned, compute);
                            result = await EvaluateBenchmarkAsync(benchmark, spec.Data, split, tunedModel, cli, modelName, revision, parsed.GetValue(model.BatchSize), cancellationToken);
                        }
                        else
                        {
                            classifierModel ??= await model.LoadEncoderAsync(parsed, cli, cancellationToken);
                            result = await EvaluateBenchmarkAsync(benchmark, spec.Data, split, classifierModel, cli, modelName, revision, parsed.GetValue(model.BatchSize), cancellationToken);
                        }
                    }
                    results.Add(result);
                    if (suiteFile is null)
                    {
                        if (outputPath is not null) result.Write(outputPath);
                        PrintTable(cli.Out, result);
                    }
                    else
                        result.Write(Path.Combine(folder!, UniqueFileName(results, result)));
                }
                if (suiteFile is not null)
                {
                    var summary = new SuiteSummary(results);
                    AtomicFile.WriteAllText(Path.Combine(folder!, "summary.md"), summary.ToMarkdown());
                    AtomicFile.WriteAllText(Path.Combine(folder!, "summary.csv"), summary.ToCsv());
                    cli.Out.Write(summary.ToMarkdown());
                    cli.Error.WriteLine($"encoderkit: results, summary.md and summary.csv written to {folder}; {cache!.Embedded} texts embedded, the rest read from the embedding cache");
                }
                return 0;
            }
            finally
            {
                encoder?.Dispose();
                classifierModel?.Dispose();
            }
        });
        return command;
    }

    static void Check(SuiteEntry spec)
    {
        if (!EmbeddingTypes.ContainsKey(spec.Task) && BenchmarkTasks.Find(spec.Task) is null)
            throw new EncoderKitException(ErrorKind.BadInput,
                $"unknown task '{spec.Task}' (known: {string.Join(", ", EmbeddingTypes.Keys.Concat(BenchmarkTasks.All.Select(t => t.Name)))})", field: spec.Where);
    }

    /// <summary>Fine-tunes with the recipe, one line per 5% of the steps on stderr; returns the model's folder.</summary>
    static async Task<string> FineTuneAsync(CliInvocation cli, BenchmarkTask task, string data, string baseFolder, FineTuningRecipe recipe, string outputFolder,
        ComputeOptions compute, bool resume, CancellationToken cancellationToken)
    {
        if (resume && TrainingRuns.LatestCheckpoint(outputFolder) is { } checkpoint)
            cli.Error.WriteLine($"encoderkit: continuing the run in {outputFolder} from {Path.GetFileName(checkpoint)}");
        cli.Error.WriteLine(FormattableString.Invariant(
            $"encoderkit: fine-tuning on {task.DisplayName}'s train split into {outputFolder} (learning rate {recipe.LearningRate:0.##e+0}, batch {recipe.BatchSize}, ")
            + FormattableString.Invariant($"{recipe.Epochs} epochs, max length {recipe.MaxSeqLength}, warmup ratio {recipe.WarmupRatio}, seed {recipe.Seed})"));
        TrainingSummary summary = await BenchmarkFineTuning.FineTuneAsync(task, data, baseFolder, recipe, outputFolder, compute, p =>
        {
            if (p.Step == p.TotalSteps || p.Step % Math.Max(1, p.TotalSteps / 20) == 0) cli.Error.WriteLine("encoderkit: " + TrainingProgressView.Describe(p));
        }, resume, cancellationToken);
        return summary.FinalModelFolder;
    }

    /// <summary>A benchmark task through the pipeline of its kind: multiple choice, extractive QA, or a sequence classifier.</summary>
    static async Task<TaskResult> EvaluateBenchmarkAsync(BenchmarkTask task, string data, string split, EncoderModel model, CliInvocation cli,
        string modelName, string? revision, int batchSize, CancellationToken cancellationToken)
    {
        switch (task.Kind)
        {
            case FineTuningTask.MultipleChoice:
                return await BenchmarkTasks.EvaluateChoicesAsync(task, data, new MultipleChoice(model, cli.Warnings), modelName, revision, split, batchSize, cancellationToken);
            case FineTuningTask.QuestionAnswering:
                using (var answerer = new QuestionAnswerer(model))
                    return await BenchmarkTasks.EvaluateQuestionsAsync(task, data, answerer, modelName, revision, split, batchSize, cancellationToken);
            default:
                return await BenchmarkTasks.EvaluateAsync(task, data, new TextClassifier(model, cli.Warnings), modelName, revision, split, batchSize, cancellationToken);
        }
    }

    static (double, double)? ParseRange(string? text)
    {
        if (text is null) return null;
        string[] parts = text.Split(',');
        if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double lo)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double hi) && lo < hi)
            return (lo, hi);
        throw new EncoderKitException(ErrorKind.BadInput, $"expected MIN,MAX with MIN below MAX, got '{text}'", field: "--score-range");
    }

    /// <summary>&lt;task_name&gt;.json, numbered when two tasks of the suite share a name.</summary>
    static string UniqueFileName(List<TaskResult> done, TaskResult result)
    {
        string stem = FileStem(result.TaskName);
        int same = done.Count(r => r.TaskName == result.TaskName);
        return same > 1 ? $"{stem}-{same}.json" : stem + ".json";
    }

    static string FileStem(string name) => string.Concat(name.Select(c => Path.GetInvalidFileNameChars().Contains(c) || c == '/' ? '_' : c));

    static void PrintTable(TextWriter output, TaskResult result)
    {
        output.WriteLine($"{result.TaskName} ({result.TaskType}), {result.EvaluationSeconds:F1} s");
        foreach (var (split, scores) in result.Scores)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {split,-16} {"main_score (" + scores.MainScore + ")",-34} {scores.MainValue,10:F5}"));
            foreach (string metric in Headline)
                if (metric != scores.MainScore && scores.Metrics.TryGetValue(metric, out double value))
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"",-16} {metric,-34} {value,10:F5}"));
        }
    }
}
