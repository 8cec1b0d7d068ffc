using System.Text.Json.Nodes;
using EncoderKit.FineTuning;
using EncoderKit.Inference;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Training;

namespace EncoderKit.Tests.FineTuning;

/// <summary>
/// "Learning": a tiny random BERT fine-tuned on a synthetic task the test writes reaches high validation scores, and the
/// output folder is a model that loads back with the task's head and labels. The thresholds are far above chance (0.5
/// accuracy; entity F1 and exact match near 0 for a random model) and below what the runs reach, so they test learning,
/// not luck.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class LearningTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static async Task<(TrainingSummary Summary, List<JsonObject> Log)> FineTune(TempFolder folder, FineTuningTask task, Action<string, int, int> write, TrainingRunOptions options, FeatureOptions? features = null)
    {
        string model = TinyTasks.BaseModel(folder.File("base"));
        write(folder.File("train.jsonl"), 400, 1);
        write(folder.File("validation.jsonl"), 80, 2);
        var settings = new FineTuningSettings(model, task, folder.File("train.jsonl"), options)
        {
            ValidationFile = folder.File("validation.jsonl"),
            Features = features ?? new FeatureOptions(),
        };
        TrainingSummary summary = await FineTuner.RunAsync(settings);
        var log = File.ReadAllLines(Path.Combine(options.OutputFolder, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        return (summary, log);
    }

    static TrainingRunOptions Options(TempFolder folder) => new(folder.File("out"))
    {
        Epochs = 4, BatchSize = 16, LearningRate = 2e-3, WarmupRatio = 0.1, EvalSteps = 25, SaveSteps = 50, SaveTotalLimit = 1,
    };

    [Fact, Trait("speed", "slow")]
    public async Task SequenceClassificationLearnsAWordRule()
    {
        using var folder = new TempFolder();
        var (summary, log) = await FineTune(folder, FineTuningTask.TextClassification, TinyTasks.WriteSentiment, Options(folder));
        double accuracy = log.Where(l => l.ContainsKey("eval_accuracy")).Max(l => l["eval_accuracy"]!.GetValue<double>());
        output.WriteLine($"best eval accuracy {accuracy}, summary {summary}");
        Assert.True(accuracy >= 0.95, $"best validation accuracy {accuracy}");
        Assert.Equal(accuracy, summary.BestMetric);

        // The output folder is the best model: a BertForSequenceClassification with the collected labels (sorted).
        using EncoderModel trained = EncoderModel.Load(folder.File("out"));
        Assert.Equal(["BertForSequenceClassification"], trained.Config.Strings("architectures"));
        Assert.Equal(["neg", "pos"], trained.Config.LabelNames());
        Assert.True(trained.HasTokenizer);
        var classifier = new TextClassifier(trained);
        var scores = await classifier.ClassifyAsync([new TextToClassify("the film was lovely", null), new TextToClassify("a boring movie", null)], 1);
        Assert.Equal(["pos", "neg"], scores.Select(s => s[0].Label));
    }

    [Fact, Trait("speed", "slow")]
    public async Task TokenClassificationLearnsWordLists()
    {
        using var folder = new TempFolder();
        var (summary, log) = await FineTune(folder, FineTuningTask.TokenClassification, TinyTasks.WriteEntities, Options(folder) with { Epochs = 2 });
        double f1 = log.Where(l => l.ContainsKey("eval_f1")).Max(l => l["eval_f1"]!.GetValue<double>());
        output.WriteLine($"best entity F1 {f1}, summary {summary}");
        Assert.True(f1 >= 0.95, $"best validation entity F1 {f1}");
        using EncoderModel trained = EncoderModel.Load(folder.File("out"));
        Assert.Equal(["BertForTokenClassification"], trained.Config.Strings("architectures"));
        Assert.Equal(["B-LOC", "B-PER", "I-LOC", "O"], trained.Config.LabelNames());
    }

    [Fact, Trait("speed", "slow")]
    public async Task QuestionAnsweringLearnsAnswerSpans()
    {
        using var folder = new TempFolder();
        // Windows of 16 tokens overlapping by 4: most contexts (9-16 words) span two or three windows.
        var (summary, log) = await FineTune(folder, FineTuningTask.QuestionAnswering, TinyTasks.WriteColors, Options(folder) with { Epochs = 2 }, new FeatureOptions(16, 4));
        double exact = log.Where(l => l.ContainsKey("eval_exact_match")).Max(l => l["eval_exact_match"]!.GetValue<double>());
        output.WriteLine($"best exact match {exact}, summary {summary}");
        Assert.True(exact >= 90, $"best validation exact match {exact}");
        using EncoderModel trained = EncoderModel.Load(folder.File("out"));
        Assert.Equal(["BertForQuestionAnswering"], trained.Config.Strings("architectures"));
    }
}
