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

        // 60 documents: a random ranking scores nDCG@10 ≈ 0.07; the untrained encoder (≈ 0.29 here) only gets beyond that
        // from tokens a query happens to share with its document among the fillers. Thresholds leave room for another
        // machine's float sums to take training a slightly different way (measured: 0.91 full width, 0.77 at 8 of 32).
        Assert.True(before["ndcg_at_10"] < 0.35, $"untrained nDCG@10 {before["ndcg_at_10"]}");
        Assert.True(after["ndcg_at_10"] > 0.85, $"trained nDCG@10 {after["ndcg_at_10"]}");
        Assert.True(after["ndcg_at_10_dim_8"] > 0.7 * after["ndcg_at_10"], $"8 of 32 dimensions: nDCG@10 {after["ndcg_at_10_dim_8"]}");
        Assert.Equal(after["ndcg_at_10"], summary.BestMetric!.Value, 4);   // the output is the best evaluation's model
        string[] log = File.ReadAllLines(folder.File("out/train_log.jsonl"));
        foreach (string metric in new[] { "ndcg_at_10", "mrr_at_10", "recall_at_100", "ndcg_at_10_dim_8", "mrr_at_10_dim_8", "recall_at_100_dim_8" })
            Assert.Contains(log, line => line.Contains($"\"eval_{metric}\"", StringComparison.Ordinal));
    }

    static EmbeddingTrainingSettings Settings(string model, string train, string output, int steps, int batch = 8) =>
        new(model, train, new TrainingRunOptions(output) { MaxSteps = steps, BatchSize = batch, LearningRate = 1e-3, SaveSteps = 2 });

    static (double Loss, double GradNorm)[] Steps(string log) =>
        [.. File.ReadAllLines(log).Select(line => JsonDocument.Parse(line).RootElement).Where(r => r.TryGetProperty("loss", out _))
            .Select(r => (r.GetProperty("loss").GetDouble(), r.GetProperty("grad_norm").GetDouble()))];

    [Fact]
    public async Task CachedMnrlInTheRunGivesPlainMnrlsLossAndGradients()
    {
        using var folder = new TempFolder();
        string model = TinyRetrieval.Model(folder.File("base"));
        string train = TinyRetrieval.WriteTrain(folder.File("train.jsonl"), 1);
        await EmbeddingTrainer.RunAsync(Settings(model, train, folder.File("plain"), steps: 1, batch: 16));
        await EmbeddingTrainer.RunAsync(Settings(model, train, folder.File("cached"), steps: 1, batch: 16) with { Loss = ContrastiveLossKind.CachedMnrl, MiniBatchSize = 4 });
        var (plainLoss, plainNorm) = Steps(folder.File("plain/train_log.jsonl")).Single();
        var (cachedLoss, cachedNorm) = Steps(folder.File("cached/train_log.jsonl")).Single();
        // The same sums in another order (float32): equal to rounding.
        Assert.Equal(plainLoss, cachedLoss, 1e-5 * plainLoss);
        Assert.Equal(plainNorm, cachedNorm, 1e-5 * plainNorm);
    }

    [Fact]
    public async Task AResumedRunRepeatsTheUninterruptedOnesLosses()
    {
        using var folder = new TempFolder();
        string model = TinyRetrieval.Model(folder.File("base"), dropout: 0.1);   // dropout: the random states must be restored too
        string train = TinyRetrieval.WriteTrain(folder.File("train.jsonl"), 1);
        EmbeddingTrainingSettings Run(string output) => Settings(model, train, folder.File(output), steps: 6) with
        {
            Loss = ContrastiveLossKind.CachedMnrl, MiniBatchSize = 4, NoDuplicates = true, Matryoshka = new MatryoshkaDimensions([32, 16]),
        };
        await EmbeddingTrainer.RunAsync(Run("whole"));

        using var interrupt = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => EmbeddingTrainer.RunAsync(Run("resumed"), p =>
        {
            if (p.Step == 3) interrupt.Cancel();   // after checkpoint-2: step 3 is lost and done again
        }, interrupt.Token));
        Assert.Equal(3, Steps(folder.File("resumed/train_log.jsonl")).Length);
        await EmbeddingTrainer.RunAsync(Run("resumed") with { Resume = "latest" });

        var whole = Steps(folder.File("whole/train_log.jsonl"));
        Assert.Equal(6, whole.Length);
        Assert.Equal(whole, Steps(folder.File("resumed/train_log.jsonl")));
        Assert.Equal(File.ReadAllBytes(folder.File("whole/model.safetensors")), File.ReadAllBytes(folder.File("resumed/model.safetensors")));
    }

    /// <summary>The texts of each batch the run trained on, from its last checkpoint's record of the epoch's batches.</summary>
    static List<string[]> CheckpointBatches(string checkpoint, IReadOnlyList<string[]> rowTexts)
    {
        Dictionary<string, TorchSharp.torch.Tensor> state = TensorStateFile.Read(Path.Combine(checkpoint, "run_state.safetensors"));
        try
        {
            long[] order = state["data.order"].data<long>().ToArray(), sizes = state["data.batch_sizes"].data<long>().ToArray();
            var batches = new List<string[]>();
            int from = 0;
            foreach (long size in sizes)
            {
                batches.Add([.. order[from..(from + (int)size)].SelectMany(row => rowTexts[(int)row])]);
                from += (int)size;
            }
            Assert.Equal(rowTexts.Count, from);   // every row is in one batch of the epoch
            return batches;
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }

    [Fact]
    public async Task NoDuplicatesKeepsEveryTextOnceInABatch_AndDatasetsKeepBatchesToOneSource()
    {
        using var folder = new TempFolder();
        string model = TinyRetrieval.Model(folder.File("base"));
        // 48 rows, each source's over 6 queries and 8 documents of its own: a batch of 8 drawn blindly nearly always repeats one.
        var random = new Random(5);
        var rows = Enumerable.Range(0, 48).Select(i => new
        {
            anchor = $"rare{i % 2 * 20 + random.Next(6):D3} the", positive = $"rare{i % 2 * 20 + 10 + random.Next(8):D3} of a", dataset = i % 2 == 0 ? "even" : "odd",
        }).ToArray();
        File.WriteAllLines(folder.File("train.jsonl"), rows.Select(r => JsonSerializer.Serialize(r)));
        string[][] rowTexts = [.. rows.Select(r => new[] { r.anchor, r.positive })];

        await EmbeddingTrainer.RunAsync(Settings(model, folder.File("train.jsonl"), folder.File("blind"), steps: 1));
        Assert.Contains(CheckpointBatches(folder.File("blind/checkpoint-1"), rowTexts), batch => batch.Distinct().Count() < batch.Length);

        await EmbeddingTrainer.RunAsync(Settings(model, folder.File("train.jsonl"), folder.File("unique"), steps: 1) with { NoDuplicates = true });
        List<string[]> batches = CheckpointBatches(folder.File("unique/checkpoint-1"), rowTexts);
        Assert.All(batches, batch => Assert.Equal(batch.Length, batch.Distinct().Count()));
        var sources = rows.Select((r, i) => (Texts: rowTexts[i], r.dataset)).ToArray();
        Assert.All(batches, batch => Assert.Single(sources.Where(s => s.Texts.Any(batch.Contains)).Select(s => s.dataset).Distinct()));
    }
}
