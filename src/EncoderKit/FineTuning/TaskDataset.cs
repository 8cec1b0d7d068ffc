using System.Globalization;
using StringBuilder = System.Text.StringBuilder;
using System.Text.Json.Nodes;
using EncoderKit.FineTuning.Data;
using EncoderKit.Tokenization;

namespace EncoderKit.FineTuning;

/// <summary>Which fields of a data file hold what; null for the task's default.</summary>
/// <param name="Text">The text (default "text"); the word list for token classification ("tokens"); the question for QA and multiple choice ("question").</param>
/// <param name="TextPair">The second text of a pair (none by default).</param>
/// <param name="Label">The label (default "label"); the tag list for token classification ("ner_tags").</param>
public sealed record DataColumns(string? Text = null, string? TextPair = null, string? Label = null);

/// <summary>How examples become features.</summary>
/// <param name="MaxLength">Most tokens per input, special tokens included.</param>
/// <param name="DocStride">QA: tokens consecutive context windows share (run_qa's doc_stride).</param>
public sealed record FeatureOptions(int MaxLength = 128, int DocStride = 32);

/// <summary>A gold QA example, for scoring: the context and its answers.</summary>
public sealed record QuestionAnswerExample(string Id, string Context, IReadOnlyList<string> Answers);

/// <summary>
/// A data file's examples for one task, tokenised into features with their labels, as the transformers example scripts
/// prepare them (run_glue, run_ner, run_qa, run_swag).
/// </summary>
/// <remarks>
/// Label names are collected from the training data and sorted as run_glue sorts its label list: numerically when every
/// label is an integer, otherwise by ordinal string order. A validation label outside them is an error.
/// </remarks>
public sealed class TaskDataset
{
    TaskDataset(FineTuningTask task, IReadOnlyList<string> labels, IReadOnlyList<TaskFeature> features, IReadOnlyList<QuestionAnswerExample> questions)
    {
        Task = task;
        Labels = labels;
        Features = features;
        Questions = questions;
    }

    public FineTuningTask Task { get; }

    /// <summary>Label names in id order (id2label); empty for QA and multiple choice.</summary>
    public IReadOnlyList<string> Labels { get; }

    public IReadOnlyList<TaskFeature> Features { get; }

    /// <summary>QA: every example, in row order (features point into it).</summary>
    public IReadOnlyList<QuestionAnswerExample> Questions { get; }

    /// <summary>The label names of <paramref name="rows"/>, sorted (see the remarks on the class).</summary>
    public static IReadOnlyList<string> CollectLabels(IReadOnlyList<DataRow> rows, FineTuningTask task, DataColumns columns)
    {
        string column = LabelColumn(task, columns);
        var names = task switch
        {
            FineTuningTask.Regression => ["LABEL_0"],   // num_labels=1, as transformers names its one output
            FineTuningTask.TextClassification => rows.Select(r => Scalar(r, column)).Distinct().ToList(),
            FineTuningTask.MultiLabel or FineTuningTask.TokenClassification => rows.SelectMany(r => r.Strings(column)).Distinct().ToList(),
            _ => [],
        };
        if (task.HasLabels() && names.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, $"no labels in column '{column}'", rows[0].File);
        return names.All(n => long.TryParse(n, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            ? [.. names.OrderBy(n => long.Parse(n, CultureInfo.InvariantCulture))]
            : [.. names.Order(StringComparer.Ordinal)];
    }

    /// <summary>Tokenises <paramref name="rows"/> for <paramref name="task"/> with the label names of the training data.</summary>
    /// <exception cref="EncoderKitException">A field is missing or malformed, a label is not among <paramref name="labels"/>, a QA answer is not where answer_start says.</exception>
    public static TaskDataset Build(IReadOnlyList<DataRow> rows, FineTuningTask task, DataColumns columns, IReadOnlyList<string> labels, Tokenizer tokenizer, FeatureOptions options)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < labels.Count; i++) ids[labels[i]] = i;
        string labelColumn = LabelColumn(task, columns);
        int LabelId(DataRow row, string name, string column) => ids.TryGetValue(name, out int id) ? id
            : throw row.Error(column, $"has the label '{name}', which the training data does not have (labels: {string.Join(", ", labels)})");
        var encode = new EncodeOptions { MaxLength = options.MaxLength };
        var features = new List<TaskFeature>(rows.Count);
        var questions = new List<QuestionAnswerExample>();
        for (int e = 0; e < rows.Count; e++)
        {
            DataRow row = rows[e];
            switch (task)
            {
                case FineTuningTask.TextClassification or FineTuningTask.MultiLabel or FineTuningTask.Regression:
                {
                    string text = row.Text(columns.Text ?? "text");
                    string? pair = columns.TextPair is { } p ? row.Text(p) : null;
                    Encoding encoding = tokenizer.Encode(text, pair, encode);
                    float[]? targets = null;
                    long classId = 0;
                    if (task == FineTuningTask.TextClassification) classId = LabelId(row, Scalar(row, labelColumn), labelColumn);
                    else if (task == FineTuningTask.Regression) targets = [Number(row, labelColumn)];
                    else
                    {
                        targets = new float[labels.Count];
                        foreach (string name in row.Strings(labelColumn)) targets[LabelId(row, name, labelColumn)] = 1;
                    }
                    features.Add(new TaskFeature { Example = e, Ids = [encoding.Ids], TypeIds = [encoding.TypeIds], ClassId = classId, Targets = targets });
                    break;
                }
                case FineTuningTask.TokenClassification:
                    features.Add(TaggedWords(row, e, columns.Text ?? "tokens", labelColumn, n => LabelId(row, n, labelColumn), tokenizer, encode));
                    break;
                case FineTuningTask.QuestionAnswering:
                    var (example, windows) = QuestionWindows(row, e, columns.Text ?? "question", tokenizer, options);
                    questions.Add(example);
                    features.AddRange(windows);
                    break;
                case FineTuningTask.MultipleChoice:
                {
                    string question = row.Text(columns.Text ?? "question");
                    IReadOnlyList<string> choices = row.Strings(columns.TextPair ?? "choices");
                    if (choices.Count < 2) throw row.Error(columns.TextPair ?? "choices", $"holds {choices.Count} choice(s); multiple choice needs at least 2");
                    long answer = (long)Number(row, labelColumn);
                    if (answer < 0 || answer >= choices.Count || answer != Number(row, labelColumn))
                        throw row.Error(labelColumn, $"is {answer}, not the index of one of the {choices.Count} choices");
                    Encoding[] encoded = [.. choices.Select(c => tokenizer.Encode(question, c, encode))];
                    features.Add(new TaskFeature { Example = e, Ids = [.. encoded.Select(x => x.Ids)], TypeIds = [.. encoded.Select(x => x.TypeIds)], ClassId = answer });
                    break;
                }
            }
        }
        if (task == FineTuningTask.MultipleChoice && features.Select(f => f.Ids.Length).Distinct().Count() > 1)
            throw new EncoderKitException(ErrorKind.BadInput, "every question needs the same number of choices", rows[0].File, columns.TextPair ?? "choices");
        return new TaskDataset(task, labels, features, questions);
    }

    static string LabelColumn(FineTuningTask task, DataColumns columns) =>
        columns.Label ?? (task == FineTuningTask.TokenClassification ? "ner_tags" : "label");

    static string Scalar(DataRow row, string column) => row.Get(column) is JsonValue v ? DataRow.ScalarText(v)
        : throw row.Error(column, "is not a single value");

    static float Number(DataRow row, string column)
    {
        JsonNode value = row.Get(column);
        if (value is JsonValue v && (DataRow.TryNumber(v, out double d) || (v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d)))
            && double.IsFinite(d))
            return (float)d;
        throw row.Error(column, $"is {value.ToJsonString()}, not a number");
    }

    // run_ner's tokenize_and_align_labels: the words joined by spaces; each word's first token carries its tag, every
    // other token -100 (label_all_tokens off).
    static TaskFeature TaggedWords(DataRow row, int example, string wordColumn, string tagColumn, Func<string, int> tagId, Tokenizer tokenizer, EncodeOptions encode)
    {
        IReadOnlyList<string> words = row.Strings(wordColumn), tags = row.Strings(tagColumn);
        if (words.Count != tags.Count) throw row.Error(tagColumn, $"holds {tags.Count} tags for {words.Count} words");
        var text = new StringBuilder();
        var wordAt = new List<int>();
        for (int w = 0; w < words.Count; w++)
        {
            if (w > 0) { text.Append(' '); wordAt.Add(-1); }
            text.Append(words[w]);
            wordAt.AddRange(Enumerable.Repeat(w, words[w].Length));
        }
        int[] tagIds = [.. tags.Select(tagId)];
        Encoding encoding = tokenizer.Encode(text.ToString(), null, encode);
        var labels = new long[encoding.Length];
        int previousWord = -1;
        for (int t = 0; t < encoding.Length; t++)
        {
            labels[t] = Training.TaskLoss.IgnoreIndex;
            var (start, end) = encoding.Offsets[t];
            if (encoding.SequenceIds[t] is null || end <= start) continue;
            int word = Enumerable.Range(start, end - start).Select(c => c < wordAt.Count ? wordAt[c] : -1).FirstOrDefault(w => w >= 0, -1);
            if (word >= 0 && word != previousWord) labels[t] = tagIds[word];
            if (word >= 0) previousWord = word;
        }
        return new TaskFeature { Example = example, Ids = [encoding.Ids], TypeIds = [encoding.TypeIds], TokenLabels = labels };
    }

    // run_qa's prepare_train_features: question and context, the context truncated into windows of max_length tokens that
    // overlap by doc_stride; in each window the answer's first and last token, or (CLS, CLS) when it is not wholly inside.
    static (QuestionAnswerExample, List<TaskFeature>) QuestionWindows(DataRow row, int example, string questionColumn, Tokenizer tokenizer, FeatureOptions options)
    {
        string question = row.Text(questionColumn).TrimStart(), context = row.Text("context");
        if (row.Get("answers") is not JsonObject answers) throw row.Error("answers", "is not an object with 'text' and 'answer_start' lists");
        var texts = answers["text"] as JsonArray ?? throw row.Error("answers.text", "is not a list");
        var starts = answers["answer_start"] as JsonArray ?? throw row.Error("answers.answer_start", "is not a list");
        if (texts.Count == 0 || texts.Count != starts.Count) throw row.Error("answers", $"has {texts.Count} texts and {starts.Count} starts; give at least one answer, with its start");
        var answerTexts = new List<string>();
        for (int a = 0; a < texts.Count; a++)
        {
            string text = texts[a] is JsonValue tv && tv.TryGetValue(out string? s) ? s : throw row.Error($"answers.text[{a}]", "is not a string");
            int start = starts[a] is JsonValue sv && sv.TryGetValue(out int i) ? i : throw row.Error($"answers.answer_start[{a}]", "is not an integer");
            if (start < 0 || start + text.Length > context.Length || string.CompareOrdinal(context, start, text, 0, text.Length) != 0)
                throw row.Error($"answers.answer_start[{a}]", $"the answer \"{text}\" is not at character {start} of its context");
            answerTexts.Add(text);
        }
        int startChar = (int)starts[0]!, endChar = startChar + answerTexts[0].Length;
        string id = row.Fields["id"] is JsonValue idValue ? DataRow.ScalarText(idValue) : example.ToString(CultureInfo.InvariantCulture);

        Encoding first = tokenizer.Encode(question, context, new EncodeOptions { MaxLength = options.MaxLength, Stride = options.DocStride, Truncation = TruncationStrategy.OnlySecond });
        int cls = tokenizer.ClsTokenId ?? 0;
        var features = new List<TaskFeature>();
        foreach (Encoding window in new[] { first }.Concat(first.Overflowing))
        {
            int?[] sequence = window.SequenceIds;
            var offsets = new (int, int)?[window.Length];
            for (int t = 0; t < window.Length; t++) offsets[t] = sequence[t] == 1 ? window.Offsets[t] : null;
            int clsIndex = Math.Max(0, Array.IndexOf(window.Ids, cls));
            int tokenStart = Array.FindIndex(sequence, s => s == 1), tokenEnd = Array.FindLastIndex(sequence, s => s == 1);
            (long, long) span = (clsIndex, clsIndex);
            if (tokenStart >= 0 && window.Offsets[tokenStart].Start <= startChar && window.Offsets[tokenEnd].End >= endChar)
            {
                // Bounded to the context: past its last token, the next one (a [SEP]) has offsets (0, 0).
                while (tokenStart <= tokenEnd && window.Offsets[tokenStart].Start <= startChar) tokenStart++;
                while (tokenEnd >= 0 && window.Offsets[tokenEnd].End >= endChar) tokenEnd--;
                span = (tokenStart - 1, tokenEnd + 1);
            }
            features.Add(new TaskFeature { Example = example, Ids = [window.Ids], TypeIds = [window.TypeIds], Span = span, ContextOffsets = offsets });
        }
        return (new QuestionAnswerExample(id, context, answerTexts), features);
    }
}
