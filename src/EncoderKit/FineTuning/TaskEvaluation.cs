using EncoderKit.Evaluation;
using EncoderKit.Modeling;
using EncoderKit.Training;
using static TorchSharp.torch;

namespace EncoderKit.FineTuning;

/// <summary>
/// The metrics of each task on a validation set, as the transformers example scripts report them: accuracy, macro-F1 and
/// Matthews correlation for single-label classification; Pearson and Spearman for regression; subset accuracy and
/// macro-F1 over labels (sigmoid &gt; 0.5) for multi-label; seqeval's entity F1 for tags; SQuAD exact match and F1 after
/// run_qa's post-processing; accuracy for multiple choice. Every task also reports the mean loss.
/// </summary>
public static class TaskEvaluation
{
    /// <summary>run_qa's n_best_size and max_answer_length.</summary>
    public const int BestSpans = 20, MaxAnswerTokens = 30;

    /// <summary>The metric that picks the best checkpoint (higher is better).</summary>
    public static string MainMetric(FineTuningTask task) => task switch
    {
        FineTuningTask.TextClassification or FineTuningTask.MultipleChoice => "accuracy",
        FineTuningTask.MultiLabel => "macro_f1",
        FineTuningTask.Regression => "pearson",
        _ => "f1",
    };

    public static IReadOnlyDictionary<string, double> Evaluate(EncoderModel model, TaskDataset data, int batchSize, int padId)
    {
        using var inference = inference_mode();
        var logits = new List<float[][]>();   // per feature: the head's output rows
        double loss = 0;
        for (int from = 0; from < data.Features.Count; from += batchSize)
        {
            using var scope = NewDisposeScope();
            var features = data.Features.Skip(from).Take(batchSize).ToList();
            using TaskBatch batch = TaskBatches.Collate(features, data.Task, padId, model.Device);
            using EncoderOutputs outputs = model.Network.Forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds, TaskBatches.HeadOutput(data.Task));
            loss += TaskLoss.For(model.Spec.Heads, outputs, batch.Labels).item<float>() * features.Count;
            Tensor[] heads = data.Task switch
            {
                FineTuningTask.QuestionAnswering => [outputs.StartLogits!, outputs.EndLogits!],
                FineTuningTask.TokenClassification => [outputs.TokenLogits!],
                FineTuningTask.MultipleChoice => [outputs.ChoiceLogits!],
                _ => [outputs.ClassifierLogits!],
            };
            for (int b = 0; b < features.Count; b++)
                logits.Add([.. heads.Select(h => h[b].to(ScalarType.Float32).cpu().flatten().data<float>().ToArray())]);
        }
        var metrics = data.Task switch
        {
            FineTuningTask.TextClassification or FineTuningTask.MultipleChoice => SingleLabel(data, logits),
            FineTuningTask.MultiLabel => MultiLabel(data, logits),
            FineTuningTask.Regression => Regression(data, logits),
            FineTuningTask.TokenClassification => Tags(data, logits),
            _ => Spans(data, logits),
        };
        metrics["loss"] = loss / data.Features.Count;
        return metrics;
    }

    static Dictionary<string, double> SingleLabel(TaskDataset data, List<float[][]> logits)
    {
        int[] truth = [.. data.Features.Select(f => (int)f.ClassId)], predicted = [.. logits.Select(l => ArgMax(l[0], 0, l[0].Length))];
        var metrics = new Dictionary<string, double> { ["accuracy"] = ClassificationMetrics.Accuracy(truth, predicted) };
        if (data.Task == FineTuningTask.TextClassification)
        {
            metrics["macro_f1"] = ClassificationMetrics.MacroF1(truth, predicted);
            metrics["mcc"] = ClassificationMetrics.MatthewsCorrelation(truth, predicted);
        }
        return metrics;
    }

    static Dictionary<string, double> MultiLabel(TaskDataset data, List<float[][]> logits)
    {
        int labels = data.Labels.Count;
        bool[][] predicted = [.. logits.Select(l => l[0].Select(x => x > 0).ToArray())];   // sigmoid(x) > 0.5
        bool[][] truth = [.. data.Features.Select(f => f.Targets!.Select(t => t > 0.5f).ToArray())];
        double exact = predicted.Zip(truth).Count(p => p.First.SequenceEqual(p.Second)) / (double)truth.Length;
        double macro = Enumerable.Range(0, labels).Average(j =>
            ClassificationMetrics.F1([.. truth.Select(t => t[j] ? 1 : 0)], [.. predicted.Select(p => p[j] ? 1 : 0)]));
        return new Dictionary<string, double> { ["accuracy"] = exact, ["macro_f1"] = macro };
    }

    static Dictionary<string, double> Regression(TaskDataset data, List<float[][]> logits)
    {
        double[] truth = [.. data.Features.Select(f => (double)f.Targets![0])], predicted = [.. logits.Select(l => (double)l[0][0])];
        return new Dictionary<string, double> { ["pearson"] = Correlation.Pearson(truth, predicted), ["spearman"] = Correlation.Spearman(truth, predicted) };
    }

    // As run_ner: the positions that carry a tag (each word's first token), the prediction there by argmax.
    static Dictionary<string, double> Tags(TaskDataset data, List<float[][]> logits)
    {
        int labels = data.Labels.Count;
        var truth = new List<IReadOnlyList<string>>();
        var predicted = new List<IReadOnlyList<string>>();
        for (int f = 0; f < data.Features.Count; f++)
        {
            long[] tags = data.Features[f].TokenLabels!;
            var gold = new List<string>();
            var guess = new List<string>();
            for (int t = 0; t < tags.Length; t++)
            {
                if (tags[t] == TaskLoss.IgnoreIndex) continue;
                gold.Add(data.Labels[(int)tags[t]]);
                guess.Add(data.Labels[ArgMax(logits[f][0], t * labels, labels)]);
            }
            truth.Add(gold);
            predicted.Add(guess);
        }
        EntityScores scores = SequenceLabelingMetrics.Score(truth, predicted);
        return new Dictionary<string, double> { ["precision"] = scores.Precision, ["recall"] = scores.Recall, ["f1"] = scores.F1, ["accuracy"] = scores.Accuracy };
    }

    static Dictionary<string, double> Spans(TaskDataset data, List<float[][]> logits)
    {
        var windows = data.Features.Select((f, i) => (Feature: f, Start: logits[i][0], End: logits[i][1])).ToLookup(w => w.Feature.Example);
        var predictions = new List<string>(data.Questions.Count);
        for (int e = 0; e < data.Questions.Count; e++)
            predictions.Add(BestAnswer(data.Questions[e].Context, windows[e].Select(w => (w.Feature.ContextOffsets!, w.Start, w.End))));
        SquadScores scores = SquadMetrics.Score(predictions, [.. data.Questions.Select(q => q.Answers)]);
        return new Dictionary<string, double> { ["exact_match"] = scores.ExactMatch, ["f1"] = scores.F1 };
    }

    /// <summary>
    /// run_qa's postprocess_qa_predictions (SQuAD v1): over every window, the 20 best start and end tokens; of the pairs
    /// inside the context with start ≤ end and at most 30 tokens, the one with the highest start + end logit; its text
    /// from the context by the tokens' character offsets. "" when no pair qualifies.
    /// </summary>
    public static string BestAnswer(string context, IEnumerable<((int Start, int End)?[] Offsets, float[] StartLogits, float[] EndLogits)> windows)
    {
        double bestScore = double.NegativeInfinity;
        string best = "";
        foreach (var (offsets, startLogits, endLogits) in windows)
        {
            int length = Math.Min(offsets.Length, startLogits.Length);
            int[] starts = Best(startLogits, length), ends = Best(endLogits, length);
            foreach (int s in starts)
                foreach (int e in ends)
                {
                    if (offsets[s] is not { } first || offsets[e] is not { } last || e < s || e - s + 1 > MaxAnswerTokens) continue;
                    double score = startLogits[s] + endLogits[e];
                    if (score > bestScore)
                    {
                        bestScore = score;
                        best = context[first.Start..last.End];
                    }
                }
        }
        return best;

        static int[] Best(float[] logits, int length) =>
            [.. Enumerable.Range(0, length).OrderByDescending(i => logits[i]).ThenByDescending(i => i).Take(BestSpans)];
    }

    static int ArgMax(float[] values, int from, int count)
    {
        int best = 0;
        for (int i = 1; i < count; i++)
            if (values[from + i] > values[from + best]) best = i;
        return best;
    }
}
