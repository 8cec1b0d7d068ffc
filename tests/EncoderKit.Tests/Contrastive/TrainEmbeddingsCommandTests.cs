using System.Text.Json;
using EncoderKit.Modeling;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Tests.Cli;

namespace EncoderKit.Tests.Contrastive;

/// <summary><c>encoderkit train-embeddings</c>: the folder it writes is a sentence-transformers model that <c>embed</c> reads, prompts and all.</summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class TrainEmbeddingsCommandTests
{
    static float[][] Embeddings(CliRunner.Result result) =>
        [.. result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray())];

    [Fact]
    public async Task EmbedOnTheOutputGivesTheTrainedEncodersVectorsWithThePromptsByName()
    {
        using var folder = new TempFolder();
        string model = TinyRetrieval.Model(folder.File("base"));
        string train = TinyRetrieval.WriteTrain(folder.File("train.jsonl"), 1);
        string output = folder.File("out");
        var run = await CliRunner.RunAsync(["train-embeddings", "--model", model, "--train", train, "--output", output, "--max-steps", "4", "--batch-size", "8",
            "--learning-rate", "1e-3", "--save-steps", "4", "--query-prompt", "search_query: ", "--document-prompt", "search_document: ", "--matryoshka-dims", "32,16"]);
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("model written to", run.Out);
        Assert.True(File.Exists(Path.Combine(output, "train_log.png")));

        string[] texts = ["rare001 the of", "rare002 a and in to"];
        // The encoder as training left it: the last step's weights (checkpoint-4), mean-pooled, prompts given literally.
        float[][] query, document, untrained;
        using (EncoderModel trained = EncoderModel.Load(Path.Combine(output, "checkpoint-4")))
        using (SentenceEncoder encoder = SentenceEncoder.Create(trained, trained.Tokenizer))
        {
            query = encoder.Encode(texts, prompt: "search_query: ");
            document = encoder.Encode(texts, prompt: "search_document: ");
        }
        // The checkpoint is a sentence-transformers model itself: its prompts by name give the same vectors.
        using (SentenceEncoder checkpoint = SentenceEncoder.Load(Path.Combine(output, "checkpoint-4")))
        {
            Assert.Equal("search_query: ", checkpoint.Prompts["query"]);
            float[][] fromCheckpoint = checkpoint.Encode(texts, promptName: "query");
            for (int i = 0; i < texts.Length; i++) Assert.Equal(query[i], fromCheckpoint[i], (a, b) => Math.Abs(a - b) <= 1e-6f);
        }
        using (SentenceEncoder encoder = SentenceEncoder.Load(model)) untrained = encoder.Encode(texts, prompt: "search_query: ");

        float[][] embedQuery = Embeddings(await CliRunner.RunAsync(["embed", "--model", output, "--prompt", "query", .. texts]));
        float[][] embedDocument = Embeddings(await CliRunner.RunAsync(["embed", "--model", output, "--prompt", "document", .. texts]));
        float[][] embedPlain = Embeddings(await CliRunner.RunAsync(["embed", "--model", output, .. texts]));
        for (int i = 0; i < texts.Length; i++)
        {
            Assert.Equal(query[i], embedQuery[i], (a, b) => Math.Abs(a - b) <= 1e-6f);
            Assert.Equal(document[i], embedDocument[i], (a, b) => Math.Abs(a - b) <= 1e-6f);
            Assert.NotEqual(query[i], embedPlain[i]);       // the prompt is applied
            Assert.NotEqual(untrained[i], embedQuery[i]);   // and training changed the model
        }

        using SentenceEncoder saved = SentenceEncoder.Load(output);
        Assert.Equal("search_query: ", saved.Prompts["query"]);
        Assert.Equal("search_document: ", saved.Prompts["document"]);
        Assert.Equal("query", saved.QueryPromptName);
        Assert.Equal("document", saved.DocumentPromptName);
        Assert.True(File.Exists(Path.Combine(output, "modules.json")));
        Assert.True(File.Exists(Path.Combine(output, "sentence_bert_config.json")));
    }

    public static TheoryData<string, string, string[]> Losses => new()
    {
        { "mnrl-symmetric", """{"anchor": "rare001 the", "positive": "rare001 of", "negative": "rare002 of"}""", [] },
        { "cached-mnrl", """{"anchor": "rare001 the", "positive": "rare001 of", "negatives": ["rare002 of", "rare003 a"]}""", ["--mini-batch-size", "2"] },
        { "mnrl", """{"anchor": "rare001 the", "positive": "rare001 of", "dataset": "one"}""", ["--dtype", "bf16", "--no-duplicates"] },
        { "cosent", """{"sentence1": "rare001 the", "sentence2": "rare001 of", "score": 0.9}""", ["--matryoshka-dims", "32,8", "--matryoshka-weights", "1,0.5"] },
    };

    [Theory]
    [MemberData(nameof(Losses))]
    public async Task EveryLossTrainsIntoALoadableModel(string loss, string example, string[] extra)
    {
        using var folder = new TempFolder();
        string model = TinyRetrieval.Model(folder.File("base"));
        // Six rows that differ: the example with its rare words shifted.
        File.WriteAllLines(folder.File("train.jsonl"), Enumerable.Range(0, 6).Select(i => example.Replace("rare00", $"rare{i}0", StringComparison.Ordinal)
            .Replace("0.9", (i / 6.0).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)));
        var run = await CliRunner.RunAsync(["train-embeddings", "--model", model, "--train", folder.File("train.jsonl"), "--output", folder.File("out"),
            "--loss", loss, "--max-steps", "2", "--batch-size", "4", .. extra]);
        Assert.True(run.Exit == 0, run.Err);
        double[] losses = [.. File.ReadAllLines(folder.File("out/train_log.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("loss").GetDouble())];
        Assert.Equal(2, losses.Length);
        Assert.All(losses, l => Assert.True(double.IsFinite(l) && l > 0, $"loss {l}"));
        using SentenceEncoder saved = SentenceEncoder.Load(folder.File("out"));
        Assert.Equal(32, saved.Encode("rare001 the").Length);
    }

    [Fact]
    public async Task AnUnknownMetricForBestIsRefusedBeforeTraining()
    {
        using var folder = new TempFolder();
        string model = TinyRetrieval.Model(folder.File("base"));
        var run = await CliRunner.RunAsync(["train-embeddings", "--model", model, "--train", TinyRetrieval.WriteTrain(folder.File("train.jsonl"), 1),
            "--validation", TinyRetrieval.WriteBeir(folder.File("beir")), "--output", folder.File("out"), "--metric-for-best", "ndcg_at_10_dim_8"]);
        Assert.Contains("'ndcg_at_10_dim_8' is not a metric the validation gives", run.AssertOneLineError());
        Assert.False(File.Exists(folder.File("out/train_log.jsonl")));
    }

    [Fact]
    public async Task ABadLineIsOneErrorLineNamingIt()
    {
        using var folder = new TempFolder();
        string model = TinyRetrieval.Model(folder.File("base"));
        File.WriteAllLines(folder.File("train.jsonl"), ["""{"anchor": "a", "positive": "b"}""", """{"anchor": "c", "pos": "d"}"""]);
        var run = await CliRunner.RunAsync(["train-embeddings", "--model", model, "--train", folder.File("train.jsonl"), "--output", folder.File("out")]);
        string error = run.AssertOneLineError();
        Assert.Contains("line 2", error);
        Assert.Contains("'positive' is missing", error);
    }
}
