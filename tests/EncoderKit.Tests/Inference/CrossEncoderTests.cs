using System.Text.Json.Nodes;
using EncoderKit.Inference;
using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// Reranking with sentence-transformers' CrossEncoder conventions, on the one-label (regression) BERT classifier
/// fixture with the real tokenizer: each (query, document) pair's score is the sigmoid (here, in double precision) of
/// the logit the model gives the pair run alone, or the logit itself when raw scores are asked for or config.json
/// names Identity. Tolerance 1e-5: batch vs lone runs differ by float32 rounding only (~1e-7).
/// </summary>
public sealed class CrossEncoderTests
{
    const double Tolerance = 1e-5;
    const string Query = "Where do cats sleep?";
    static readonly string[] Documents = ["Cats sleep on sofas, in boxes and in the sun.", "The stock market fell today.", "Dogs bark.", "A cat's favourite place to sleep is wherever you want to sit."];

    [Fact]
    public async Task DocumentsAreRankedByTheSigmoidOfTheirPairsLogit()
    {
        using var folder = TempFolder.FromReference("bert-seqcls-regression", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var reranker = new CrossEncoder(model);
        Assert.Equal(ClassificationFunction.Sigmoid, reranker.Activation);
        double[] logits = [.. Documents.Select(d => Logit(model, Query, d))];
        double[] sigmoid = [.. logits.Select(x => 1 / (1 + Math.Exp(-x)))];
        int[] order = [.. Enumerable.Range(0, Documents.Length).OrderByDescending(i => sigmoid[i])];

        var ranked = await reranker.RankAsync(Query, Documents);
        Assert.Equal(order, ranked.Select(r => r.Index));
        foreach (RankedDocument r in ranked) Assert.True(Math.Abs(sigmoid[r.Index] - r.Score) <= Tolerance, $"document {r.Index}: {r.Score}, logit gives {sigmoid[r.Index]}");
        Assert.Equal(order.Take(2), reranker.Rank(Query, Documents, topK: 2).Select(r => r.Index));
        var raw = reranker.Rank(Query, Documents, rawScores: true);
        foreach (RankedDocument r in raw) Assert.True(Math.Abs(logits[r.Index] - r.Score) <= Tolerance, $"raw document {r.Index}");
        Assert.Equal("top_k", Assert.Throws<EncoderKitException>(() => reranker.Rank(Query, Documents, topK: 0)).Field);
    }

    [Theory]
    [InlineData("torch.nn.modules.linear.Identity", true)]
    [InlineData("torch.nn.modules.activation.Sigmoid", false)]
    public void TheActivationComesFromConfigJson(string activation, bool identity)
    {
        using var folder = TempFolder.FromReference("bert-seqcls-regression", "bert-base-cased");
        var config = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!.AsObject();
        config["sentence_transformers"] = new JsonObject { ["activation_fn"] = activation, ["version"] = "4.1.0" };
        File.WriteAllText(folder.File("config.json"), config.ToJsonString());
        using var model = EncoderModel.Load(folder.Path);
        var reranker = new CrossEncoder(model);
        Assert.Equal(identity ? ClassificationFunction.None : ClassificationFunction.Sigmoid, reranker.Activation);
        double logit = Logit(model, Query, Documents[0]);
        double want = identity ? logit : 1 / (1 + Math.Exp(-logit));
        Assert.True(Math.Abs(want - reranker.Rank(Query, [Documents[0]])[0].Score) <= Tolerance);
    }

    [Fact]
    public void AnUnknownActivationOrAModelThatIsNotAOneLabelClassifierIsAClearError()
    {
        using (var folder = TempFolder.FromReference("bert-seqcls-regression", "bert-base-cased"))
        {
            var config = JsonNode.Parse(File.ReadAllText(folder.File("config.json")))!.AsObject();
            config["sbert_ce_default_activation_function"] = "torch.nn.modules.activation.Tanh";
            File.WriteAllText(folder.File("config.json"), config.ToJsonString());
            using var model = EncoderModel.Load(folder.Path);
            var error = Assert.Throws<EncoderKitException>(() => new CrossEncoder(model));
            Assert.Equal("sbert_ce_default_activation_function", error.Field);
        }
        using (var threeLabels = EncoderModel.Load(ReferenceData.Model("bert-seqcls")))
            Assert.Equal("num_labels", Assert.Throws<EncoderKitException>(() => new CrossEncoder(threeLabels)).Field);
        using var bare = EncoderModel.Load(ReferenceData.Model("bert"));
        Assert.Contains("sequence-classification head", Assert.Throws<EncoderKitException>(() => new CrossEncoder(bare)).Message);
    }

    /// <summary>The model's one logit for the pair run alone.</summary>
    static double Logit(EncoderModel model, string query, string document)
    {
        using var scope = NewDisposeScope();
        Encoding pair = model.Tokenizer.Encode(query, document);
        Tensor Row(int[] values) => tensor(values.Select(v => (long)v).ToArray(), [1, values.Length]);
        using var outputs = model.Forward(Row(pair.Ids), null, Row(pair.TypeIds));
        return outputs.ClassifierLogits!.to_type(ScalarType.Float32).item<float>();
    }
}
