namespace EncoderKit.FineTuning;

/// <summary>What a fine-tuning run teaches, by the names <c>encoderkit finetune --task</c> takes.</summary>
public enum FineTuningTask
{
    /// <summary>One label per text (or pair): softmax over the labels.</summary>
    TextClassification,
    /// <summary>Any number of labels per text: a sigmoid per label.</summary>
    MultiLabel,
    /// <summary>One number per text (or pair).</summary>
    Regression,
    /// <summary>A tag per word (named entities, parts of speech).</summary>
    TokenClassification,
    /// <summary>Extractive QA: the answer's span in a context.</summary>
    QuestionAnswering,
    /// <summary>Which of several endings answers a question.</summary>
    MultipleChoice,
}

public static class FineTuningTasks
{
    static readonly (string Name, FineTuningTask Task)[] Names =
    [
        ("text-classification", FineTuningTask.TextClassification), ("multi-label", FineTuningTask.MultiLabel),
        ("regression", FineTuningTask.Regression), ("token-classification", FineTuningTask.TokenClassification),
        ("question-answering", FineTuningTask.QuestionAnswering), ("multiple-choice", FineTuningTask.MultipleChoice),
    ];

    public static FineTuningTask Parse(string name) =>
        Names.FirstOrDefault(n => n.Name == name) is { Name: not null } found ? found.Task
            : throw new EncoderKitException(ErrorKind.BadInput, $"unknown task '{name}'; expected {string.Join(", ", Names.Select(n => n.Name))}", field: "--task");

    public static string Name(this FineTuningTask task) => Names.First(n => n.Task == task).Name;

    /// <summary>The transformers class suffix of the task's model: Bert + "ForSequenceClassification".</summary>
    public static string ClassSuffix(this FineTuningTask task) => task switch
    {
        FineTuningTask.TokenClassification => "ForTokenClassification",
        FineTuningTask.QuestionAnswering => "ForQuestionAnswering",
        FineTuningTask.MultipleChoice => "ForMultipleChoice",
        _ => "ForSequenceClassification",
    };

    /// <summary>transformers' problem_type of a sequence-classification task; null for the other tasks.</summary>
    public static string? ProblemType(this FineTuningTask task) => task switch
    {
        FineTuningTask.TextClassification => "single_label_classification",
        FineTuningTask.MultiLabel => "multi_label_classification",
        FineTuningTask.Regression => "regression",
        _ => null,
    };

    /// <summary>Whether the task's head has one output per label name (QA and multiple choice have none).</summary>
    public static bool HasLabels(this FineTuningTask task) => task is not (FineTuningTask.QuestionAnswering or FineTuningTask.MultipleChoice);
}
