using System.Globalization;
using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.FineTuning;
using EncoderKit.FineTuning.Data;
using EncoderKit.Training;

namespace EncoderKit.Evaluation;

/// <summary>The hyperparameters a benchmark's own fine-tuning recipe uses for a task.</summary>
/// <param name="BatchSize">Training examples per optimizer step.</param>
/// <param name="MaxSeqLength">Most tokens per input (QA: per window).</param>
/// <param name="WarmupRatio">Linear warmup as a fraction of all steps.</param>
public sealed record FineTuningRecipe(double LearningRate, int BatchSize, int Epochs, int MaxSeqLength, double WarmupRatio = 0, long Seed = 42);

/// <summary>
/// A GLUE or JGLUE task's fine-tuning, as the benchmark's own recipe does it: a new head on the base model, trained on
/// the task's train split (read by the task's own reader, with the task's label ids) without looking at the dev split,
/// and the model after the last step kept — run_glue's <c>--do_train</c> before its <c>--do_eval</c>.
/// </summary>
public static class BenchmarkFineTuning
{
    /// <summary>
    /// GLUE: the run_glue example's command (learning rate 2e-5, batch 32, 3 epochs, max_seq_length 128, seed 42, no
    /// warmup). JGLUE: its fine-tuning README's commands (learning rate 5e-5, batch 32, warmup ratio 0.1, seed 42;
    /// max_seq_length 512 for MARC-ja, 128 for JSTS and JNLI, 384 for JSQuAD, 64 for JCommonsenseQA, whose batch is
    /// 64; 4 epochs, 3 for JSQuAD). The README searched learning rates {5e-5, 3e-5, 2e-5} and epochs {3, 4} on dev and
    /// shows commands for MARC-ja, JSQuAD and JCommonsenseQA only; JSTS and JNLI take MARC-ja's command with another
    /// metric, so its values.
    /// </summary>
    public static FineTuningRecipe Recipe(BenchmarkTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.Benchmark == "GLUE") return new FineTuningRecipe(2e-5, 32, 3, 128);
        return task.Name switch
        {
            "jglue/marc-ja" => new FineTuningRecipe(5e-5, 32, 4, 512, 0.1),
            "jglue/jsquad" => new FineTuningRecipe(5e-5, 32, 3, 384, 0.1),
            "jglue/jcommonsenseqa" => new FineTuningRecipe(5e-5, 64, 4, 64, 0.1),
            _ => new FineTuningRecipe(5e-5, 32, 4, 128, 0.1),
        };
    }

    /// <summary>
    /// Fine-tunes <paramref name="baseModel"/> (a model folder) on the train split in <paramref name="data"/> (the task
    /// folder) into <paramref name="outputFolder"/>, which ends as a Hugging Face model folder with the task's head (its
    /// labels named as the task names them).
    /// </summary>
    /// <param name="resume">
    /// Continue the run from the newest checkpoint in <paramref name="outputFolder"/> when it holds one (a finished run's
    /// last checkpoint is its last step: nothing is trained again, and its model is written again); else start afresh.
    /// </param>
    public static async Task<TrainingSummary> FineTuneAsync(BenchmarkTask task, string data, string baseModel, FineTuningRecipe recipe, string outputFolder,
        ComputeOptions? compute = null, Action<TrainingProgress>? progress = null, bool resume = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(recipe);
        string file = BenchmarkTasks.TrainFile(task, data);
        IReadOnlyList<DataRow> rows = task.Kind switch
        {
            FineTuningTask.QuestionAnswering => await DataFiles.ReadAsync(file, cancellationToken).ConfigureAwait(false),
            FineTuningTask.MultipleChoice => [.. BenchmarkTasks.ReadChoices(task, file).Select((e, i) => Row(file, i, new JsonObject
            {
                ["question"] = e.Question.Question, ["choices"] = new JsonArray([.. e.Question.Choices.Select(c => (JsonNode)c)]), ["label"] = e.Gold,
            }))],
            _ => [.. BenchmarkTasks.Read(task, file).Select((e, i) => Row(file, i, new JsonObject
            {
                ["text"] = e.Text, ["text_pair"] = e.Pair,
                ["label"] = task.IsRegression ? e.Gold : task.LabelNames![(int)e.Gold],
            }))],
        };
        bool pairs = task.Kind is FineTuningTask.TextClassification or FineTuningTask.Regression && rows.Any(r => r.Fields["text_pair"] is not null);
        var settings = new FineTuningSettings(baseModel, task.Kind, file, new TrainingRunOptions(outputFolder)
        {
            LearningRate = recipe.LearningRate, BatchSize = recipe.BatchSize, Epochs = recipe.Epochs, WarmupRatio = recipe.WarmupRatio, Seed = recipe.Seed,
            SaveTotalLimit = 1,   // checkpoints only for a crash; the dev split picks nothing
            // bf16 is mixed precision: the weights stay float32 and a bf16 copy computes.
            ComputeDtype = compute?.Dtype ?? ComputeDtype.Float32,
        })
        {
            Columns = new DataColumns(TextPair: pairs ? "text_pair" : null),
            Resume = resume ? TrainingRuns.LatestCheckpoint(outputFolder) : null,
            // run_squad's doc_stride of 128, kept below half a window when the window is shortened.
            Features = new FeatureOptions(recipe.MaxSeqLength, Math.Min(128, recipe.MaxSeqLength / 2 - 1)),
            Compute = (compute ?? new ComputeOptions()) with { Dtype = ComputeDtype.Float32 },
        };
        IReadOnlyList<string> labels = task.LabelNames ?? TaskDataset.CollectLabels(rows, task.Kind, settings.Columns);
        return FineTuner.Run(settings, rows, null, labels, progress, cancellationToken);
    }

    // The row's place is the example's 1-based number: the task's reader has already named any bad line.
    static DataRow Row(string file, int index, JsonObject fields) => new(file, "example " + (index + 1).ToString(CultureInfo.InvariantCulture), fields);
}
