using System.Text.Json;
using EncoderKit.FineTuning;
using EncoderKit.FineTuning.Data;
using EncoderKit.Tokenization;
using EncoderKit.Training;

namespace EncoderKit.Tests.FineTuning;

/// <summary>
/// The loop's bookkeeping with scripted evaluation results: the best model is the one of the best evaluation (copied to
/// the output folder at the end), early stopping counts evaluations without improvement; and every task's batches go
/// through the model and its metrics (multi-label, regression and multiple choice are not in the learning tests).
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class TrainingRunTests
{
    static async Task<(EncoderModel Model, TaskDataset Data, int PadId)> Sentiment(TempFolder folder)
    {
        string model = TinyTasks.BaseModel(folder.File("base"));
        TinyTasks.WriteSentiment(folder.File("train.jsonl"), 32, 1);
        var rows = await DataFiles.ReadAsync(folder.File("train.jsonl"));
        var labels = TaskDataset.CollectLabels(rows, FineTuningTask.TextClassification, new DataColumns());
        Tokenizer tokenizer = Tokenizer.FromFolder(model);
        var data = TaskDataset.Build(rows, FineTuningTask.TextClassification, new DataColumns(), labels, tokenizer, new FeatureOptions());
        return (TaskHeads.Create(model, FineTuningTask.TextClassification, labels), data, tokenizer.PadTokenId ?? 0);
    }

    [Fact]
    public async Task EarlyStoppingKeepsTheBestEvaluationsModel()
    {
        using var folder = new TempFolder();
        var (model, data, pad) = await Sentiment(folder);
        using (model)
        {
            double[] scripted = [0.5, 0.7, 0.6, 0.65, 0.9];
            int calls = 0;
            var run = new TrainingRun<TaskFeature>(model, data.Features, (compute, batch) => TaskBatches.Loss(compute, FineTuningTask.TextClassification, batch, pad),
                new TrainingRunOptions(folder.File("out")) { MaxSteps = 50, BatchSize = 4, LearningRate = 1e-3, EvalSteps = 2, SaveSteps = 100, EarlyStoppingPatience = 2 })
            {
                Evaluate = _ => new Dictionary<string, double> { ["accuracy"] = scripted[calls++] },
                MainMetric = "accuracy",
            };
            TrainingSummary summary = run.Run();
            // Evaluations at 2 (0.5), 4 (0.7, best), 6 (0.6), 8 (0.65: the second without improvement → stop).
            Assert.Equal(new TrainingSummary(8, true, 4, 0.7, folder.File("out")), summary);
            Assert.Equal(4, calls);
            byte[] final = File.ReadAllBytes(folder.File("out/model.safetensors"));
            Assert.Equal(File.ReadAllBytes(folder.File("out/best/checkpoint-4/model.safetensors")), final);
            Assert.NotEqual(File.ReadAllBytes(folder.File("out/checkpoint-8/model.safetensors")), final);   // the last step's model is not the final one
        }
    }

    [Fact]
    public async Task ABatchOrderHookDecidesEachEpochsMicroBatches()
    {
        using var folder = new TempFolder();
        var (model, data, pad) = await Sentiment(folder);
        using (model)
        {
            var seen = new List<int>();
            int epochs = 0;
            var run = new TrainingRun<TaskFeature>(model, data.Features, (compute, batch) =>
                {
                    seen.Add(batch.Count);
                    return TaskBatches.Loss(compute, FineTuningTask.TextClassification, batch, pad);
                },
                new TrainingRunOptions(folder.File("out")) { MaxSteps = 5, BatchSize = 4, LearningRate = 1e-3, SaveSteps = 100 })
            {
                // Three batches of 1, 2 and 3 rows an epoch, whatever the batch size says.
                BatchOrder = _ =>
                {
                    epochs++;
                    return [[0], [1, 2], [3, 4, 5]];
                },
            };
            Assert.Equal(5, run.Run().Steps);
            Assert.Equal([1, 2, 3, 1, 2], seen);
            Assert.Equal(2, epochs);
        }
    }

    public static TheoryData<string, string, string> Tasks => new()
    {
        { "multi-label", """{"text": "good film", "label": ["pos", "film"]}""", "macro_f1" },
        { "regression", """{"text": "good film", "label": 0.75}""", "pearson" },
        { "multiple-choice", """{"question": "the film was", "choices": ["good", "bad", "sad"], "label": 1}""", "accuracy" },
    };

    [Theory]
    [MemberData(nameof(Tasks))]
    public async Task EveryTaskTrainsAndEvaluates(string task, string example, string metric)
    {
        using var folder = new TempFolder();
        string model = TinyTasks.BaseModel(folder.File("base"));
        // Four rows that differ (the metrics need variance): the example, with its first text field changed per row.
        var rows = Enumerable.Range(0, 4).Select(i =>
        {
            var row = System.Text.Json.Nodes.JsonNode.Parse(example)!.AsObject();
            string field = row.ContainsKey("text") ? "text" : "question";
            row[field] = row[field]!.GetValue<string>() + " " + TinyTasks.Fillers[i];
            if (task == "regression") row["label"] = 0.25 * i;
            if (task == "multi-label") row["label"] = new System.Text.Json.Nodes.JsonArray(i % 2 == 0 ? "pos" : "neg");
            return row.ToJsonString();
        });
        File.WriteAllLines(folder.File("data.jsonl"), rows);
        var settings = new FineTuningSettings(model, FineTuningTasks.Parse(task), folder.File("data.jsonl"),
            new TrainingRunOptions(folder.File("out")) { MaxSteps = 2, BatchSize = 2, LearningRate = 1e-3, EvalSteps = 1 })
        { ValidationFile = folder.File("data.jsonl") };
        TrainingSummary summary = await FineTuner.RunAsync(settings);
        Assert.Equal(2, summary.Steps);
        Assert.NotNull(summary.BestMetric);
        string[] log = File.ReadAllLines(folder.File("out/train_log.jsonl"));
        Assert.Contains(log, line => JsonDocument.Parse(line).RootElement.TryGetProperty("eval_" + metric, out _));
        using EncoderModel trained = EncoderModel.Load(folder.File("out"));
        Assert.EndsWith(FineTuningTasks.Parse(task).ClassSuffix(), trained.Config.Strings("architectures")[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bf16RunsComputeInBf16AndSaveFloat32Weights()
    {
        using var folder = new TempFolder();
        var (model, data, pad) = await Sentiment(folder);
        using (model)
        {
            var dtypesSeen = new HashSet<TorchSharp.torch.ScalarType>();
            var run = new TrainingRun<TaskFeature>(model, data.Features, (compute, batch) =>
                {
                    dtypesSeen.Add(compute.Network.parameters().First().dtype);
                    return TaskBatches.Loss(compute, FineTuningTask.TextClassification, batch, pad);
                },
                new TrainingRunOptions(folder.File("out")) { MaxSteps = 3, BatchSize = 4, LearningRate = 1e-3, SaveSteps = 3, ComputeDtype = EncoderKit.Compute.ComputeDtype.BFloat16 });
            run.Run();
            Assert.Equal([TorchSharp.torch.ScalarType.BFloat16], dtypesSeen);
        }
        using var saved = EncoderKit.IO.SafetensorsFile.Open(folder.File("out/model.safetensors"));
        Assert.All(saved.Tensors, t => Assert.Equal(EncoderKit.IO.TensorDtype.F32, t.Dtype));
        string[] log = File.ReadAllLines(folder.File("out/train_log.jsonl"));
        Assert.Equal(3, log.Count(l => l.Contains("\"loss\"", StringComparison.Ordinal) && !l.Contains("eval", StringComparison.Ordinal)));
    }
}
