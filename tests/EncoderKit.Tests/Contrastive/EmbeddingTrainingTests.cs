using System.Text.Json;
using EncoderKit.Contrastive;
using EncoderKit.Evaluation;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Training;
using Xunit.Abstractions;

namespace EncoderKit.Tests.Contrastive;

/// <summary>
/// Contrastive training end to end on a tiny model and a synthetic retrieval task the test builds: it learns, Matryoshka
/// keeps the narrow widths useful, and the run's bookkeeping (resume, batches) is the engine's.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class EmbeddingTrainingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HeldOutRetrievalRisesFromChanceToNearPerfect_AndTheQuarterWidthKeepsMostOfIt()
    {
        using var folder = new TempFolder();
        string model = TinyRetrieval.Model(folder.File("base"));
        RetrievalData validation = EmbeddingTaskData.ReadBeir(TinyRetrieval.WriteBeir(folder.File("beir")), "dev");
        Dictionary<string, double> before;
        using (SentenceEncoder untrained = SentenceEncoder.Load(model)) before = RetrievalValidation.Evaluate(untrained, validation, [8]);

        var settings = new EmbeddingTrainingSettings(model, TinyRetrieval.WriteTrain(folder.File("train.jsonl")),
            new TrainingRunOptions(folder.File("out")) { Epochs = 6, BatchSize = 32, LearningRate = 6e-3, WarmupRatio = 0.1, EvalSteps = 45, SaveSteps = 1000 })
        {
            Matryoshka = new MatryoshkaDimensions([32, 8], [1, 2]),
            ValidationFolder = folder.File("beir"),
        };
        TrainingSummary summary = await EmbeddingTrainer.RunAsync(settings);
        Dictionary<string, double> after;
        using (SentenceEncoder trained = SentenceEncoder.Load(folder.File("out"))) after = RetrievalValidation.Evaluate(trained, validation, [8]);
        output.WriteLine($"before {JsonSerializer.Serialize(before)}\nafter {JsonSerializer.Serialize(after)}\nsteps {summary.Steps}");

        // 60 documents: a random ranking scores nDCG@10 ≈ 0.07.
        Assert.True(before["ndcg_at_10"] < 0.35, $"untrained nDCG@10 {before["ndcg_at_10"]}");
        Assert.True(after["ndcg_at_10"] > 0.85, $"trained nDCG@10 {after["ndcg_at_10"]}");
        Assert.True(after["ndcg_at_10_dim_8"] > 0.7 * after["ndcg_at_10"], $"8 of 32 dimensions: nDCG@10 {after["ndcg_at_10_dim_8"]}");
        Assert.Equal(after["ndcg_at_10"], summary.BestMetric!.Value, 4);   // the output is the best evaluation's model
        string[] log = File.ReadAllLines(folder.File("out/train_log.jsonl"));
        foreach (string metric in new[] { "ndcg_at_10", "mrr_at_10", "recall_at_100", "ndcg_at_10_dim_8", "mrr_at_10_dim_8", "recall_at_100_dim_8" })
            Assert.Contains(log, line => line.Contains($"\"eval_{metric}\"", StringComparison.Ordinal));
    }
}
