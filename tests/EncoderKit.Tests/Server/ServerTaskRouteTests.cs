using System.Text.Json;
using EncoderKit.Inference;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Server;

namespace EncoderKit.Tests.Server;

/// <summary>
/// Two classification checkpoints served as they are: a one-label head (the regression fixture, which TEI serves as a
/// re-ranker) and a three-label one. Each test starts its own server over them.
/// </summary>
public sealed class ServedClassifiers : IDisposable
{
    readonly TempFolder _rerankerFolder = TempFolder.FromReference("bert-seqcls-regression", "bert-base-cased");
    readonly TempFolder _classifierFolder = TempFolder.FromReference("bert-seqcls", "bert-base-cased");

    public ServedClassifiers()
    {
        Reranker = SentenceEncoder.Load(_rerankerFolder.Path);
        Classifier = SentenceEncoder.Load(_classifierFolder.Path);
    }

    public SentenceEncoder Reranker { get; }
    public SentenceEncoder Classifier { get; }

    public async Task<Served> StartAsync(SentenceEncoder encoder, Action<ServerOptions>? configure = null)
    {
        var options = new ServerOptions { Port = 0 };
        configure?.Invoke(options);
        return new Served(await EncoderServer.StartAsync(encoder, options));
    }

    /// <summary>The head's logits for each input, from the pipeline on the same weights (no function applied).</summary>
    public static double[][] Logits(SentenceEncoder encoder, params TextToClassify[] inputs)
    {
        var classifier = new TextClassifier(encoder.Model);
        return [.. classifier.ClassifyAsync(inputs, topK: null, ClassificationFunction.None).GetAwaiter().GetResult()
            .Select(scores => classifier.Labels.Select(label => scores.Single(s => s.Label == label).Score).ToArray())];
    }

    public void Dispose()
    {
        Reranker.Dispose();
        Classifier.Dispose();
        _rerankerFolder.Dispose();
        _classifierFolder.Dispose();
    }
}

/// <summary>
/// /rerank and /predict in TEI's JSON, over the classification head; /fill-mask in the pipeline's. Each goes through
/// the server's one batcher. Scores within 1e-5 of the pipeline's logits put through TEI's function with plain math:
/// rows batched with others are padded, which moves float32 sums in the last bits only.
/// </summary>
public class ServerTaskRouteTests(ServedClassifiers models, ServedModel embedder) : IClassFixture<ServedClassifiers>, IClassFixture<ServedModel>
{
    const double Tolerance = 1e-5;
    static readonly string[] Texts = ["Paris is the capital of France.", "The cat sat on the mat.", "France's capital city is Paris, on the Seine."];

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    static double[] Softmax(double[] x) => [.. x.Select(v => Math.Exp(v - x.Max()) / x.Sum(w => Math.Exp(w - x.Max())))];

    [Fact]
    public async Task Rerank_answers_each_texts_index_and_score_best_first()
    {
        await using Served served = await models.StartAsync(models.Reranker);
        const string query = "What is the capital of France?";
        double[] logits = [.. ServedClassifiers.Logits(models.Reranker, [.. Texts.Select(t => new TextToClassify(query, t))]).Select(l => l[0])];
        long submitted = served.Server.Inference.Batcher.Submitted;

        JsonElement answer = await served.PostJsonAsync("/rerank", new { query, texts = Texts });
        Assert.Equal(submitted + 1, served.Server.Inference.Batcher.Submitted);   // one request, through the batcher
        JsonElement[] ranks = [.. answer.EnumerateArray()];
        Assert.Equal(Texts.Length, ranks.Length);
        Assert.All(ranks, r => Assert.Equal(["index", "score"], r.EnumerateObject().Select(p => p.Name).Order()));
        Assert.Equal(Enumerable.Range(0, Texts.Length).OrderByDescending(i => logits[i]), ranks.Select(r => r.GetProperty("index").GetInt32()));
        foreach (JsonElement rank in ranks)
            Assert.Equal(Sigmoid(logits[rank.GetProperty("index").GetInt32()]), rank.GetProperty("score").GetDouble(), Tolerance);

        JsonElement raw = await served.PostJsonAsync("/rerank", new { query, texts = Texts, raw_scores = true, return_text = true });
        foreach (JsonElement rank in raw.EnumerateArray())
        {
            int index = rank.GetProperty("index").GetInt32();
            Assert.Equal(logits[index], rank.GetProperty("score").GetDouble(), Tolerance);
            Assert.Equal(Texts[index], rank.GetProperty("text").GetString());
        }
    }

    [Fact]
    public async Task Predict_answers_labels_best_first_for_a_text_a_pair_and_a_list()
    {
        await using Served served = await models.StartAsync(models.Classifier);
        IReadOnlyList<string> labels = served.Server.Inference.Labels!;
        Assert.Equal(3, labels.Count);
        double[][] logits = ServedClassifiers.Logits(models.Classifier, new TextToClassify(Texts[0]), new TextToClassify(Texts[0], Texts[1]), new TextToClassify(Texts[2]));

        void AssertLabels(JsonElement got, double[] expected)
        {
            JsonElement[] items = [.. got.EnumerateArray()];
            Assert.Equal(labels.Count, items.Length);
            Assert.All(items, i => Assert.Equal(["label", "score"], i.EnumerateObject().Select(p => p.Name).Order()));
            Assert.Equal(labels.Select((l, i) => (l, i)).OrderByDescending(p => expected[p.i]).Select(p => p.l), items.Select(i => i.GetProperty("label").GetString()));
            foreach (JsonElement item in items)
                Assert.Equal(expected[labels.ToList().IndexOf(item.GetProperty("label").GetString()!)], item.GetProperty("score").GetDouble(), Tolerance);
        }

        AssertLabels(await served.PostJsonAsync("/predict", new { inputs = Texts[0] }), Softmax(logits[0]));
        AssertLabels(await served.PostJsonAsync("/predict", new { inputs = new[] { Texts[0], Texts[1] } }), Softmax(logits[1]));   // two texts are a pair
        JsonElement batch = await served.PostJsonAsync("/predict", new { inputs = new object[] { new[] { Texts[0], Texts[1] }, Texts[2] }, raw_scores = true });
        Assert.Equal(2, batch.GetArrayLength());
        AssertLabels(batch[0], logits[1]);
        AssertLabels(batch[1], logits[2]);
    }

    [Fact]
    public async Task Predict_on_a_one_label_head_is_a_sigmoid_as_tei_gives_it()
    {
        await using Served served = await models.StartAsync(models.Reranker);
        double logit = ServedClassifiers.Logits(models.Reranker, new TextToClassify(Texts[1]))[0][0];
        JsonElement answer = await served.PostJsonAsync("/predict", new { inputs = Texts[1] });
        Assert.Equal("score", answer[0].GetProperty("label").GetString());
        Assert.Equal(Sigmoid(logit), answer[0].GetProperty("score").GetDouble(), Tolerance);
    }

    [Fact]
    public async Task Each_route_answers_424_naming_the_head_its_model_lacks()
    {
        await using (Served served = await models.StartAsync(models.Classifier))
        {
            using HttpResponseMessage rerank = await served.PostAsync("/rerank", """{"query": "q", "texts": ["a"]}""");
            JsonElement error = await Served.ReadAsync(rerank, 424);
            Served.AssertTeiError(error, "Backend");
            Assert.Contains("one label", error.GetProperty("error").GetString());
            using HttpResponseMessage fill = await served.PostAsync("/fill-mask", """{"inputs": "a [MASK]"}""");
            error = await Served.ReadAsync(fill, 424);
            Served.AssertTeiError(error, "Backend");
            Assert.Contains("masked-language-model head", error.GetProperty("error").GetString());
        }
        await using (Served served = await embedder.StartAsync())
        {
            using HttpResponseMessage predict = await served.PostAsync("/predict", """{"inputs": "a"}""");
            Assert.Contains("sequence-classification head", (await Served.ReadAsync(predict, 424)).GetProperty("error").GetString());
        }
    }

    [Theory]
    [InlineData("/rerank", """{"query": "q", "texts": []}""", 400, "Empty")]
    [InlineData("/rerank", """{"query": "", "texts": ["a"]}""", 400, "Empty")]
    [InlineData("/rerank", """{"query": "q", "texts": "a"}""", 422, "Validation")]
    [InlineData("/rerank", """{"texts": ["a"]}""", 422, "Validation")]
    [InlineData("/rerank", """{"query": "q", "texts": ["a", "b", "c", "d"]}""", 413, "Validation")]
    [InlineData("/predict", """{"inputs": [["a", "b", "c"]]}""", 422, "Validation")]
    [InlineData("/predict", """{"inputs": 3}""", 422, "Validation")]
    [InlineData("/predict", """{"inputs": "a", "raw_scores": 1}""", 422, "Validation")]
    public async Task Task_routes_refuse_bad_input_with_teis_status_and_body(string route, string body, int status, string errorType)
    {
        await using Served served = await models.StartAsync(models.Reranker, o => o.MaxClientBatchSize = 3);
        using HttpResponseMessage response = await served.PostAsync(route, body);
        Served.AssertTeiError(await Served.ReadAsync(response, status), errorType);
    }

    [Fact]
    public async Task Fill_mask_answers_the_pipelines_candidates_per_text_and_per_mask()
    {
        await using Served served = await embedder.StartAsync();
        var pipeline = new FillMask(embedder.Encoder.Model);
        string[] texts = ["The capital of France is [MASK].", "[MASK] went to the [MASK] yesterday."];
        long submitted = served.Server.Inference.Batcher.Submitted;

        JsonElement one = await served.PostJsonAsync("/fill-mask", new { inputs = texts[0], top_k = 3 });
        AssertCandidates(pipeline.Predict(texts[0], topK: 3)[0], one);

        JsonElement both = await served.PostJsonAsync("/fill-mask", new { inputs = texts });
        Assert.Equal(submitted + 2, served.Server.Inference.Batcher.Submitted);
        Assert.Equal(2, both.GetArrayLength());
        AssertCandidates(pipeline.Predict(texts[0])[0], both[0]);
        var twoMasks = pipeline.Predict(texts[1]);
        Assert.Equal(2, both[1].GetArrayLength());   // two masks: a list of candidate lists
        AssertCandidates(twoMasks[0], both[1][0]);
        AssertCandidates(twoMasks[1], both[1][1]);

        using HttpResponseMessage noMask = await served.PostAsync("/fill-mask", """{"inputs": "no mask here"}""");
        Served.AssertTeiError(await Served.ReadAsync(noMask, 422), "Validation");
    }

    static void AssertCandidates(IReadOnlyList<FillMaskCandidate> expected, JsonElement got)
    {
        JsonElement[] items = [.. got.EnumerateArray()];
        Assert.Equal(expected.Count, items.Length);
        for (int i = 0; i < items.Length; i++)
        {
            Assert.Equal(["score", "sequence", "token", "token_str"], items[i].EnumerateObject().Select(p => p.Name).Order());
            Assert.Equal(expected[i].Token, items[i].GetProperty("token").GetInt32());
            Assert.Equal(expected[i].TokenStr, items[i].GetProperty("token_str").GetString());
            Assert.Equal(expected[i].Sequence, items[i].GetProperty("sequence").GetString());
            Assert.Equal(expected[i].Score, items[i].GetProperty("score").GetDouble(), Tolerance);
        }
    }

    [Fact]
    public async Task Embed_all_goes_through_the_batcher()
    {
        await using Served served = await embedder.StartAsync();
        long submitted = served.Server.Inference.Batcher.Submitted, batches = served.Server.Inference.Batcher.Batches;
        Assert.Equal(2, (await served.PostJsonAsync("/embed_all", new { inputs = Texts[..2] })).GetArrayLength());
        Assert.Equal(submitted + 1, served.Server.Inference.Batcher.Submitted);
        Assert.Equal(batches + 1, served.Server.Inference.Batcher.Batches);
    }

    [Fact]
    public async Task Info_names_a_classifier_and_a_reranker_as_tei_does()
    {
        await using (Served served = await models.StartAsync(models.Classifier))
        {
            using HttpResponseMessage response = await served.Client.GetAsync("/info");
            JsonElement classifier = (await Served.ReadAsync(response, 200)).GetProperty("model_type").GetProperty("classifier");
            Assert.Equal("negative", classifier.GetProperty("id2label").GetProperty("0").GetString());
            Assert.Equal(2, classifier.GetProperty("label2id").GetProperty("positive").GetInt32());
        }
        await using (Served served = await models.StartAsync(models.Reranker))
        {
            using HttpResponseMessage response = await served.Client.GetAsync("/info");
            Assert.Equal("score", (await Served.ReadAsync(response, 200)).GetProperty("model_type").GetProperty("reranker").GetProperty("id2label").GetProperty("0").GetString());
        }
    }
}
