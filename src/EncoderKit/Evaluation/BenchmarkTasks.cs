using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using EncoderKit.FineTuning;
using EncoderKit.FineTuning.Data;
using EncoderKit.Inference;
using EncoderKit.IO;
using EncoderKit.Runtime;

namespace EncoderKit.Evaluation;

/// <summary>One labelled example of a GLUE or JGLUE task: a text or pair, and its gold class id or score.</summary>
public sealed record BenchmarkExample(string Text, string? Pair, double Gold);

/// <summary>
/// A GLUE or JGLUE task: where its files are, how to read them, and how it is scored. Labels are numbered as the
/// Hugging Face datasets number them (mnli: entailment 0, neutral 1, contradiction 2; …), which is how a classifier
/// fine-tuned with run_glue numbers its outputs.
/// </summary>
/// <param name="Kind">What a model for the task predicts: a class, a score, a choice or an answer span (and so which head and pipeline score it).</param>
/// <param name="LabelNames">The classes in id order; null for the other kinds.</param>
/// <param name="Choices">Answer choices per question of a multiple-choice task (JCommonsenseQA: 5); 0 for the others.</param>
public sealed record BenchmarkTask(string Name, string DisplayName, string Benchmark, FineTuningTask Kind, IReadOnlyList<string>? LabelNames, IReadOnlyList<string> Metrics,
    string Language, int Choices = 0)
{
    public bool IsRegression => Kind == FineTuningTask.Regression;

    public string MainScore => Metrics[0];
}

/// <summary>
/// The GLUE and JGLUE tasks, read from their own files (GLUE's task folders of TSV files, quoting off; JGLUE's JSON
/// lines, and SQuAD JSON for JSQuAD), and scored through a fine-tuned <see cref="TextClassifier"/> with the metrics of
/// Hugging Face evaluate's glue script: matthews_correlation (CoLA), accuracy and f1 (MRPC, QQP), pearson and spearmanr
/// (STS-B, JSTS), accuracy otherwise; JCommonsenseQA through <see cref="MultipleChoice"/> (accuracy), JSQuAD through
/// <see cref="QuestionAnswerer"/> (exact match and character F1 as JGLUE computes them).
/// </summary>
public static class BenchmarkTasks
{
    const FineTuningTask Classification = FineTuningTask.TextClassification;

    public static IReadOnlyList<BenchmarkTask> All { get; } =
    [
        new("glue/cola", "CoLA", "GLUE", Classification, ["unacceptable", "acceptable"], ["matthews_correlation"], "eng-Latn"),
        new("glue/sst2", "SST-2", "GLUE", Classification, ["negative", "positive"], ["accuracy"], "eng-Latn"),
        new("glue/mrpc", "MRPC", "GLUE", Classification, ["not_equivalent", "equivalent"], ["f1", "accuracy"], "eng-Latn"),
        new("glue/qqp", "QQP", "GLUE", Classification, ["not_duplicate", "duplicate"], ["f1", "accuracy"], "eng-Latn"),
        new("glue/stsb", "STS-B", "GLUE", FineTuningTask.Regression, null, ["pearson", "spearmanr"], "eng-Latn"),
        new("glue/mnli", "MNLI", "GLUE", Classification, ["entailment", "neutral", "contradiction"], ["accuracy"], "eng-Latn"),
        new("glue/qnli", "QNLI", "GLUE", Classification, ["entailment", "not_entailment"], ["accuracy"], "eng-Latn"),
        new("glue/rte", "RTE", "GLUE", Classification, ["entailment", "not_entailment"], ["accuracy"], "eng-Latn"),
        new("glue/wnli", "WNLI", "GLUE", Classification, ["not_entailment", "entailment"], ["accuracy"], "eng-Latn"),
        new("jglue/marc-ja", "MARC-ja", "JGLUE", Classification, ["positive", "negative"], ["accuracy"], "jpn-Jpan"),
        new("jglue/jsts", "JSTS", "JGLUE", FineTuningTask.Regression, null, ["pearson", "spearmanr"], "jpn-Jpan"),
        new("jglue/jnli", "JNLI", "JGLUE", Classification, ["entailment", "contradiction", "neutral"], ["accuracy"], "jpn-Jpan"),
        new("jglue/jsquad", "JSQuAD", "JGLUE", FineTuningTask.QuestionAnswering, null, ["exact_match", "f1"], "jpn-Jpan"),
        new("jglue/jcommonsenseqa", "JCommonsenseQA", "JGLUE", FineTuningTask.MultipleChoice, null, ["accuracy"], "jpn-Jpan", Choices: 5),
    ];

    public static BenchmarkTask? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The split files of a task: GLUE's &lt;split&gt;.tsv in the task folder (MNLI: &lt;split&gt;_matched.tsv and
    /// &lt;split&gt;_mismatched.tsv), JGLUE's &lt;split&gt;-v1.*.json (the newest version present); a file given directly is read as is.
    /// </summary>
    public static IReadOnlyList<(string Split, string File)> SplitFiles(BenchmarkTask task, string data, string split)
    {
        if (File.Exists(data)) return [(split, data)];
        if (!Directory.Exists(data)) throw new EncoderKitException(ErrorKind.MissingFile, $"no such file or folder (the {task.DisplayName} task folder)", data);
        if (task.Benchmark == "GLUE")
        {
            string[] names = task.Name == "glue/mnli" ? [split + "_matched", split + "_mismatched"] : [split];
            return names.Select(n => (n, Path.Combine(data, n + ".tsv"))).ToArray();
        }
        string? newest = Directory.GetFiles(data, split + "-v*.json").Order(StringComparer.Ordinal).LastOrDefault();
        return [(split, newest ?? throw new EncoderKitException(ErrorKind.MissingFile, $"no {split}-v1.*.json in the {task.DisplayName} folder", data))];
    }

    /// <summary>The training split's file: GLUE's train.tsv (MNLI's too: it has one), JGLUE's newest train-v1.*.json.</summary>
    public static string TrainFile(BenchmarkTask task, string data)
    {
        if (!Directory.Exists(data))
            throw new EncoderKitException(ErrorKind.BadInput, $"fine-tuning needs the {task.DisplayName} task folder (with its train and dev files), not a file", data, "--data");
        string file = task.Name == "glue/mnli" ? Path.Combine(data, "train.tsv") : SplitFiles(task, data, "train").Single().File;
        return File.Exists(file) ? file : throw new EncoderKitException(ErrorKind.MissingFile, $"no such file (the {task.DisplayName} train split, to fine-tune on)", file);
    }

    /// <summary>Reads one split file of a classification or regression task.</summary>
    public static IReadOnlyList<BenchmarkExample> Read(BenchmarkTask task, string file)
    {
        if (task.Kind is not (Classification or FineTuningTask.Regression))
            throw new ArgumentException($"{task.Name} is not a classification or regression task", nameof(task));
        return task.Benchmark == "GLUE" ? ReadGlue(task, file) : ReadJglue(task, file);
    }

    static IReadOnlyList<BenchmarkExample> ReadGlue(BenchmarkTask task, string file)
    {
        string[] lines = UserFile.Read(file, () => File.ReadAllLines(file));
        if (lines.Length == 0) throw new EncoderKitException(ErrorKind.BadInput, "is empty", file);
        // CoLA's train and dev files have no header: source, label, original label, sentence.
        bool headerless = task.Name == "glue/cola" && lines[0].Split('\t').Length == 4 && !lines[0].Split('\t').Contains("sentence");
        (string Text, string? Pair, string Label) columns = task.Name switch
        {
            "glue/cola" => ("sentence", null, "label"),
            "glue/sst2" => ("sentence", null, "label"),
            "glue/mrpc" => ("#1 String", "#2 String", "Quality"),
            "glue/qqp" => ("question1", "question2", "is_duplicate"),
            "glue/stsb" => ("sentence1", "sentence2", "score"),
            "glue/mnli" => ("sentence1", "sentence2", "gold_label"),
            "glue/qnli" => ("question", "sentence", "label"),
            _ => ("sentence1", "sentence2", "label"),
        };
        int textAt, pairAt = -1, labelAt;
        int first;
        if (headerless)
        {
            (textAt, labelAt, first) = (3, 1, 0);
        }
        else
        {
            string[] header = lines[0].Split('\t');
            int Column(string name) => Array.IndexOf(header, name) is int at and >= 0 ? at
                : throw new EncoderKitException(ErrorKind.BadInput, $"the header has no \"{name}\" column ({task.DisplayName} needs it)", file, "line 1");
            textAt = Column(columns.Text);
            if (columns.Pair is not null) pairAt = Column(columns.Pair);
            labelAt = Column(columns.Label);
            first = 1;
        }
        int needed = Math.Max(textAt, Math.Max(pairAt, labelAt)) + 1;
        var examples = new List<BenchmarkExample>();
        for (int i = first; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            string where = $"line {i + 1}";
            string[] cells = lines[i].Split('\t');
            if (cells.Length < needed)
                throw new EncoderKitException(ErrorKind.BadInput, $"{cells.Length} tab-separated columns, {task.DisplayName} needs at least {needed}", file, where);
            examples.Add(new BenchmarkExample(cells[textAt], pairAt >= 0 ? cells[pairAt] : null, Gold(task, cells[labelAt], file, where)));
        }
        if (examples.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "holds no examples", file);
        return examples;
    }

    static IReadOnlyList<BenchmarkExample> ReadJglue(BenchmarkTask task, string file) =>
        TaskRecords.Read(file).Select(line => task.Name == "jglue/marc-ja"
            ? new BenchmarkExample(line.String("sentence"), null, Gold(task, line.Label("label"), file, line.Where))
            : new BenchmarkExample(line.String("sentence1"), line.String("sentence2"),
                task.IsRegression ? line.Float("label") : Gold(task, line.Label("label"), file, line.Where))).ToArray();

    /// <summary>A label as the files write it (a class id, or a class name for MNLI, QNLI, RTE and JGLUE) → class id; a score for regression.</summary>
    static double Gold(BenchmarkTask task, string label, string file, string where)
    {
        if (task.IsRegression)
            return double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out double score) ? score
                : throw new EncoderKitException(ErrorKind.BadInput, $"score '{label}' is not a number", file, where);
        int byName = task.LabelNames!.ToList().IndexOf(label);
        if (byName >= 0) return byName;
        if (int.TryParse(label, NumberStyles.None, CultureInfo.InvariantCulture, out int id) && id < task.LabelNames!.Count) return id;
        throw new EncoderKitException(ErrorKind.BadInput, $"label '{label}' is not one of {string.Join(", ", task.LabelNames!)} (or their ids 0–{task.LabelNames!.Count - 1})", file, where);
    }

    /// <summary>
    /// Reads one split file of a multiple-choice task: JCommonsenseQA's JSON lines with <c>question</c>,
    /// <c>choice0</c> … <c>choice4</c> and the right choice's index as <c>label</c>.
    /// </summary>
    public static IReadOnlyList<(ChoiceQuestion Question, int Gold)> ReadChoices(BenchmarkTask task, string file)
    {
        if (task.Kind != FineTuningTask.MultipleChoice) throw new ArgumentException($"{task.Name} is not a multiple-choice task", nameof(task));
        return [.. TaskRecords.Read(file).Select(line =>
        {
            string[] choices = [.. Enumerable.Range(0, task.Choices).Select(i => line.String($"choice{i}"))];
            string label = line.Label("label");
            int gold = int.TryParse(label, NumberStyles.None, CultureInfo.InvariantCulture, out int id) && id < task.Choices ? id
                : throw line.Error($"label '{label}' is not a choice index 0–{task.Choices - 1}");
            return (new ChoiceQuestion(line.String("question"), choices), gold);
        })];
    }

    /// <summary>Scores a fine-tuned multiple-choice model on <paramref name="task"/>: accuracy of its best choice per question, per split.</summary>
    public static async Task<TaskResult> EvaluateChoicesAsync(BenchmarkTask task, string data, MultipleChoice pipeline, string modelName, string? modelRevision,
        string split = "valid", int? batchSize = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var splits = SplitFiles(task, data, split).Select(s => (s.Split, Examples: ReadChoices(task, s.File))).ToArray();
        var scores = new Dictionary<string, SplitScores>();
        foreach (var (splitName, examples) in splits)
        {
            ChoiceScores[] answers = await pipeline.ChooseAsync([.. examples.Select(e => e.Question)], new BatchLimits(MaxRows: batchSize),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            int[] truth = [.. examples.Select(e => e.Gold)], guess = [.. answers.Select(a => a.Label)];
            scores[splitName] = new SplitScores(task.MainScore, new Dictionary<string, double> { ["accuracy"] = ClassificationMetrics.Accuracy(truth, guess) });
        }
        return new TaskResult(task.DisplayName, task.Benchmark, scores, [task.Language], clock.Elapsed.TotalSeconds, modelName, modelRevision);
    }

    /// <summary>
    /// Reads one split file of JSQuAD: SQuAD v1.1's JSON as JGLUE ships it (data / paragraphs / qas; the context is
    /// "title [SEP] paragraph"), or a Hugging Face export of it (JSONL or Parquet rows of question, context and
    /// answers: {text, answer_start}).
    /// </summary>
    /// <returns>Per question, the question with its context, and the gold answers' texts.</returns>
    public static async Task<IReadOnlyList<(QuestionAndContext Question, IReadOnlyList<string> Answers)>> ReadQuestionsAsync(string file,
        CancellationToken cancellationToken = default)
    {
        IReadOnlyList<DataRow> rows = await DataFiles.ReadAsync(file, cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(row =>
        {
            string NonEmpty(string column) => row.Text(column) is { } text && !string.IsNullOrWhiteSpace(text) ? text : throw row.Error(column, "is empty");
            if (row.Get("answers") is not JsonObject { } answers || answers["text"] is not JsonArray texts)
                throw row.Error("answers", "is not an object with a 'text' list");
            string[] gold = [.. texts.Select((t, i) => t is JsonValue v && v.TryGetValue(out string? text) ? text : throw row.Error($"answers.text[{i}]", "is not a string"))];
            return (new QuestionAndContext(NonEmpty("question"), NonEmpty("context")), (IReadOnlyList<string>)gold);
        })];
    }

    /// <summary>
    /// How JGLUE's run_squad reads answers off a window: its max_answer_length of 30 tokens, and the span exactly as the
    /// tokens cover it (Japanese has no spaces to widen an answer to).
    /// </summary>
    static readonly AnswerOptions JsquadAnswers = new(MaxAnswerLength: 30, AlignToWords: false);

    /// <summary>
    /// Scores a fine-tuned extractive QA model on JSQuAD: each question's best answer (a span of its context, from
    /// windows of up to 384 tokens that overlap by 128, as JGLUE's run) against the gold answers, with JGLUE's exact match
    /// and character F1 (<see cref="JsquadMetrics"/>), written as fractions as JGLUE's tables give them.
    /// </summary>
    public static async Task<TaskResult> EvaluateQuestionsAsync(BenchmarkTask task, string data, QuestionAnswerer pipeline, string modelName, string? modelRevision,
        string split = "valid", int? batchSize = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        if (task.Kind != FineTuningTask.QuestionAnswering) throw new ArgumentException($"{task.Name} is not an extractive QA task", nameof(task));
        var clock = Stopwatch.StartNew();
        var splits = new List<(string Split, IReadOnlyList<(QuestionAndContext Question, IReadOnlyList<string> Answers)> Examples)>();
        foreach (var (splitName, file) in SplitFiles(task, data, split))
            splits.Add((splitName, await ReadQuestionsAsync(file, cancellationToken).ConfigureAwait(false)));
        var scores = new Dictionary<string, SplitScores>();
        foreach (var (splitName, examples) in splits)
        {
            IReadOnlyList<Answer>[] answers = await pipeline.AnswerAsync([.. examples.Select(e => e.Question)], JsquadAnswers, new BatchLimits(MaxRows: batchSize),
                cancellationToken).ConfigureAwait(false);
            SquadScores measured = JsquadMetrics.Score([.. answers.Select(a => a.Count > 0 ? a[0].Text : "")], [.. examples.Select(e => e.Answers)]);
            scores[splitName] = new SplitScores(task.MainScore, new Dictionary<string, double>
            {
                ["exact_match"] = measured.ExactMatch / 100, ["f1"] = measured.F1 / 100,
            });
        }
        return new TaskResult(task.DisplayName, task.Benchmark, scores, [task.Language], clock.Elapsed.TotalSeconds, modelName, modelRevision);
    }

    /// <summary>
    /// Scores a fine-tuned classifier on <paramref name="task"/>: every split file read, classified (the highest logit;
    /// a regression model's single output as the score), and measured.
    /// </summary>
    public static async Task<TaskResult> EvaluateAsync(BenchmarkTask task, string data, TextClassifier classifier, string modelName, string? modelRevision,
        string split = "dev", int? batchSize = null, CancellationToken cancellationToken = default)
    {
        if (task.Kind is not (Classification or FineTuningTask.Regression))
            throw new ArgumentException($"{task.Name} is scored by {(task.Kind == FineTuningTask.MultipleChoice ? nameof(EvaluateChoicesAsync) : nameof(EvaluateQuestionsAsync))}", nameof(task));
        var clock = Stopwatch.StartNew();
        // Every file is read before anything runs, so a bad line fails fast.
        var splits = SplitFiles(task, data, split).Select(s => (s.Split, Examples: Read(task, s.File))).ToArray();
        Func<IReadOnlyList<LabelScore>, double> prediction = OutputMapping(task, classifier);
        var scores = new Dictionary<string, SplitScores>();
        foreach (var (splitName, examples) in splits)
        {
            var inputs = examples.Select(e => new TextToClassify(e.Text, e.Pair)).ToList();
            IReadOnlyList<LabelScore>[] outputs = await classifier.ClassifyAsync(inputs, 1, ClassificationFunction.None, new BatchLimits(MaxRows: batchSize),
                OverlongInput.Truncate, cancellationToken).ConfigureAwait(false);
            double[] predicted = outputs.Select(prediction).ToArray();
            double[] gold = examples.Select(e => e.Gold).ToArray();
            scores[splitName] = new SplitScores(task.MainScore, Score(task, gold, predicted));
        }
        return new TaskResult(task.DisplayName, task.Benchmark, scores, [task.Language], clock.Elapsed.TotalSeconds, modelName, modelRevision);
    }

    /// <summary>The task's metrics of predictions against gold labels (class ids) or scores.</summary>
    public static Dictionary<string, double> Score(BenchmarkTask task, double[] gold, double[] predicted)
    {
        if (task.IsRegression)
            return new() { ["pearson"] = Correlation.Pearson(gold, predicted), ["spearmanr"] = Correlation.Spearman(gold, predicted) };
        int[] truth = gold.Select(g => (int)g).ToArray(), guess = predicted.Select(p => (int)p).ToArray();
        var metrics = new Dictionary<string, double>();
        foreach (string metric in task.Metrics)
            metrics[metric] = metric switch
            {
                "matthews_correlation" => ClassificationMetrics.MatthewsCorrelation(truth, guess),
                "f1" => ClassificationMetrics.F1(truth, guess),
                _ => ClassificationMetrics.Accuracy(truth, guess),
            };
        return metrics;
    }

    /// <summary>
    /// How the classifier's best label becomes the task's class id: by name when the model's labels are the task's
    /// (any case), else by position (LABEL_0, LABEL_1, … as run_glue leaves them); a regression task takes the single score.
    /// </summary>
    static Func<IReadOnlyList<LabelScore>, double> OutputMapping(BenchmarkTask task, TextClassifier classifier)
    {
        IReadOnlyList<string> labels = classifier.Labels;
        if (task.IsRegression)
        {
            if (labels.Count != 1)
                throw new EncoderKitException(ErrorKind.BadInput, $"{task.DisplayName} is scored on a regression model (one output), this one has {labels.Count} labels", field: "--model");
            return scores => scores[0].Score;
        }
        if (labels.Count != task.LabelNames!.Count)
            throw new EncoderKitException(ErrorKind.BadInput, $"{task.DisplayName} has {task.LabelNames!.Count} classes, the model {labels.Count} labels ({string.Join(", ", labels)})", field: "--model");
        var byName = task.LabelNames!.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.OrdinalIgnoreCase);
        bool named = labels.All(byName.ContainsKey) && labels.Distinct(StringComparer.OrdinalIgnoreCase).Count() == labels.Count;
        var position = labels.Select((n, i) => (n, i)).GroupBy(p => p.n).ToDictionary(g => g.Key, g => g.First().i);
        return scores => named ? byName[scores[0].Label] : position[scores[0].Label];
    }
}
