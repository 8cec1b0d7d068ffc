using EncoderKit.Modeling;
using EncoderKit.Training;
using static TorchSharp.torch;

namespace EncoderKit.FineTuning;

/// <summary>A padded batch of features as the model takes it, with the labels TaskLoss reads.</summary>
public sealed class TaskBatch : IDisposable
{
    public required Tensor InputIds { get; init; }
    public required Tensor AttentionMask { get; init; }
    public required Tensor TokenTypeIds { get; init; }
    public required Dictionary<string, Tensor> Labels { get; init; }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        TokenTypeIds.Dispose();
        foreach (Tensor t in Labels.Values) t.Dispose();
    }
}

/// <summary>Features padded into batches (to the batch's longest input, as DataCollatorWithPadding does) and their loss.</summary>
public static class TaskBatches
{
    /// <summary>[B, L] inputs ([B, C, L] for multiple choice), padded with <paramref name="padId"/>; token labels padded with -100.</summary>
    public static TaskBatch Collate(IReadOnlyList<TaskFeature> features, FineTuningTask task, int padId, Device device)
    {
        int rows = features[0].Ids.Length, length = features.Max(f => f.Ids.Max(r => r.Length));
        var ids = new long[features.Count * rows * length];
        var mask = new long[ids.Length];
        var types = new long[ids.Length];
        Array.Fill(ids, padId);
        for (int b = 0; b < features.Count; b++)
            for (int r = 0; r < rows; r++)
            {
                int[] row = features[b].Ids[r], typeRow = features[b].TypeIds[r];
                int at = (b * rows + r) * length;
                for (int t = 0; t < row.Length; t++)
                {
                    ids[at + t] = row[t];
                    types[at + t] = typeRow[t];
                    mask[at + t] = 1;
                }
            }
        long[] shape = task == FineTuningTask.MultipleChoice ? [features.Count, rows, length] : [features.Count, length];
        var labels = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        switch (task)
        {
            case FineTuningTask.TextClassification or FineTuningTask.MultipleChoice:
                labels["labels"] = tensor(features.Select(f => f.ClassId).ToArray(), device: device);
                break;
            case FineTuningTask.MultiLabel or FineTuningTask.Regression:
            {
                int width = features[0].Targets!.Length;
                Tensor targets = tensor(features.SelectMany(f => f.Targets!).ToArray(), device: device).view(features.Count, width);
                labels["labels"] = task == FineTuningTask.Regression ? targets.view(features.Count) : targets;
                break;
            }
            case FineTuningTask.TokenClassification:
            {
                var tags = new long[features.Count * length];
                Array.Fill(tags, TaskLoss.IgnoreIndex);
                for (int b = 0; b < features.Count; b++) features[b].TokenLabels!.CopyTo(tags, b * length);
                labels["labels"] = tensor(tags, device: device).view(features.Count, length);
                break;
            }
            case FineTuningTask.QuestionAnswering:
                labels["start_positions"] = tensor(features.Select(f => f.Span.Start).ToArray(), device: device);
                labels["end_positions"] = tensor(features.Select(f => f.Span.End).ToArray(), device: device);
                break;
        }
        return new TaskBatch
        {
            InputIds = tensor(ids, device: device).view(shape),
            AttentionMask = tensor(mask, device: device).view(shape),
            TokenTypeIds = tensor(types, device: device).view(shape),
            Labels = labels,
        };
    }

    /// <summary>The output the task's head gives.</summary>
    public static Outputs HeadOutput(FineTuningTask task) => task switch
    {
        FineTuningTask.TokenClassification => Outputs.TokenLogits,
        FineTuningTask.QuestionAnswering => Outputs.SpanLogits,
        FineTuningTask.MultipleChoice => Outputs.ChoiceLogits,
        _ => Outputs.Classifier,
    };

    /// <summary>The loss of one micro-batch as the task's transformers class computes it (TaskLoss), with gradients.</summary>
    public static Tensor Loss(EncoderModel model, FineTuningTask task, IReadOnlyList<TaskFeature> features, int padId)
    {
        using TaskBatch batch = Collate(features, task, padId, model.Device);
        using EncoderOutputs outputs = model.Network.Forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds, HeadOutput(task));
        return TaskLoss.For(model.Spec.Heads, outputs, batch.Labels);
    }
}
