using EncoderKit.Compute;
using EncoderKit.FineTuning.Data;
using EncoderKit.Modeling;
using EncoderKit.Tokenization;
using EncoderKit.Training;

namespace EncoderKit.FineTuning;

/// <summary>Everything a fine-tuning run needs, as <c>encoderkit finetune</c> takes it.</summary>
/// <param name="Model">The base model's folder.</param>
public sealed record FineTuningSettings(string Model, FineTuningTask Task, string TrainFile, TrainingRunOptions Training)
{
    public string? ValidationFile { get; init; }

    public DataColumns Columns { get; init; } = new();

    public FeatureOptions Features { get; init; } = new();

    public ComputeOptions? Compute { get; init; }

    /// <summary>Continue a run: "latest" for the newest complete checkpoint in the output folder, or a checkpoint's name or path; null starts afresh.</summary>
    public string? Resume { get; init; }
}

/// <summary>
/// A fine-tuning run from data files to a Hugging Face model folder: reads and checks all data first (so bad input fails
/// before any training), collects the label names from the training data, puts a new task head on the base model (or
/// continues from a checkpoint) and trains it with <see cref="TrainingRun{TExample}"/>.
/// </summary>
public static class FineTuner
{
    public static async Task<TrainingSummary> RunAsync(FineTuningSettings settings, Action<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Check(settings);   // before the data is read
        IReadOnlyList<DataRow> trainRows = await DataFiles.ReadAsync(settings.TrainFile, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<DataRow>? validationRows = settings.ValidationFile is { } v ? await DataFiles.ReadAsync(v, cancellationToken).ConfigureAwait(false) : null;
        return Run(settings, trainRows, validationRows, TaskDataset.CollectLabels(trainRows, settings.Task, settings.Columns), progress, cancellationToken);
    }

    /// <summary>
    /// A run on rows already read (a benchmark's examples in its own layout, say), with the head's label names given
    /// rather than collected: a class the training rows happen to lack keeps its id. <see cref="FineTuningSettings.TrainFile"/>
    /// and <see cref="FineTuningSettings.ValidationFile"/> are not read.
    /// </summary>
    /// <param name="labels">Label names in id order (id2label); empty for QA and multiple choice, ["LABEL_0"] for regression.</param>
    public static TrainingSummary Run(FineTuningSettings settings, IReadOnlyList<DataRow> trainRows, IReadOnlyList<DataRow>? validationRows,
        IReadOnlyList<string> labels, Action<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Check(settings);
        Tokenizer tokenizer = Tokenizer.FromFolder(settings.Model);
        int padId = tokenizer.PadTokenId ?? 0;
        TaskDataset train = TaskDataset.Build(trainRows, settings.Task, settings.Columns, labels, tokenizer, settings.Features);
        TaskDataset? validation = validationRows is null ? null : TaskDataset.Build(validationRows, settings.Task, settings.Columns, labels, tokenizer, settings.Features);

        string output = settings.Training.OutputFolder;
        string? checkpoint = TrainingRuns.CheckpointToResume(output, settings.Resume);

        using EncoderModel model = checkpoint is null
            ? TaskHeads.Create(settings.Model, settings.Task, labels, settings.Compute, settings.Training.Seed)
            : EncoderModel.Load(checkpoint, settings.Compute);
        if (checkpoint is not null && settings.Task.HasLabels() && !model.Config.LabelNames().SequenceEqual(labels))
            throw new EncoderKitException(ErrorKind.BadInput, $"the checkpoint's labels ({string.Join(", ", model.Config.LabelNames())}) differ from the training data's ({string.Join(", ", labels)})", checkpoint, "id2label");

        var run = new TrainingRun<TaskFeature>(model, train.Features, (compute, batch) => TaskBatches.Loss(compute, settings.Task, batch, padId),
            settings.Training with { ResumeFrom = checkpoint })
        {
            Evaluate = validation is null ? null : m => TaskEvaluation.Evaluate(m, validation, settings.Training.BatchSize, padId),
            MainMetric = TaskEvaluation.MainMetric(settings.Task),
            TokenCount = f => f.Tokens,
            Progress = progress,
        };
        return run.Run(cancellationToken);
    }

    static void Check(FineTuningSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Training.Validate();
        if (settings.Features.MaxLength < 8) throw new EncoderKitException(ErrorKind.BadInput, $"max length {settings.Features.MaxLength} is not ≥ 8", field: "--max-length");
        if (settings.Task == FineTuningTask.QuestionAnswering && (settings.Features.DocStride < 0 || settings.Features.DocStride >= settings.Features.MaxLength / 2))
            throw new EncoderKitException(ErrorKind.BadInput, $"doc stride {settings.Features.DocStride} is not in [0, max length / 2)", field: "--doc-stride");
        if (!Directory.Exists(settings.Model)) throw new EncoderKitException(ErrorKind.MissingFile, "model folder not found", settings.Model);
    }
}
