using System.Text.Json.Nodes;
using EncoderKit.Contrastive;
using EncoderKit.IO;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Contrastive;

/// <summary>
/// GradCache is exact: on a tiny random BERT with mean pooling, the loss and every parameter gradient of cached MNRL
/// (mini-batches of 3 over 8 pairs of different lengths) equal plain MNRL over the whole batch within 1e-5 of the
/// largest gradient of each tensor. The two differ only in float32 summation order and in how far rows are padded
/// (masked positions), which moves values by ~1e-7 relative; a missed mini-batch, a gradient taken against the wrong
/// rows or a lost division moves them by orders of magnitude more.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class GradCacheTests
{
    const int Pairs = 8, MiniBatch = 3;

    static SentenceModel TinyModel(double dropout)
    {
        string file = Path.Combine(ReferenceData.Model("bert"), "config.json");
        JsonObject root = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        root["vocab_size"] = 300;
        root["architectures"] = new JsonArray("BertModel");
        root["hidden_dropout_prob"] = dropout;
        root["attention_probs_dropout_prob"] = dropout;
        var encoder = EncoderModel.CreateRandom(ConfigJson.Parse(root.ToJsonString(), file), seed: 11);
        return new SentenceModel(encoder, PoolingConfig.Mean(encoder.Spec.Hidden), [], ownsTransformer: true);
    }

    static TokenizedText[] Texts(int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, Pairs).Select(_ => new TokenizedText([.. Enumerable.Range(0, random.Next(3, 12)).Select(_ => random.Next(5, 300))]))];
    }

    static IReadOnlyList<Batch> Split(TokenizedText[] texts, int size) =>
        [.. Enumerable.Range(0, texts.Length).Chunk(size).Select(rows => new Batch(texts, rows, padId: 0))];

    static Dictionary<string, Tensor> Gradients(SentenceModel model) =>
        model.Transformer.Network.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone());

    static void ZeroGradients(SentenceModel model)
    {
        foreach (var (_, parameter) in model.Transformer.Network.named_parameters()) parameter.grad = null;
    }

    [Fact]
    public void CachedMnrlGivesTheWholeBatchsLossAndGradients()
    {
        using var model = TinyModel(dropout: 0.1);
        model.Transformer.Network.eval();
        using var scope = NewDisposeScope();
        TokenizedText[] anchors = Texts(1), positives = Texts(2);

        Tensor plain;
        using (enable_grad())
        {
            plain = ContrastiveLoss.MultipleNegativesRanking([model.ForwardWithGradients(Split(anchors, Pairs)[0]), model.ForwardWithGradients(Split(positives, Pairs)[0])]);
            plain.backward();
        }
        var expected = Gradients(model);
        ZeroGradients(model);

        double cached = GradCache.Backward([Split(anchors, MiniBatch), Split(positives, MiniBatch)], b => model.ForwardWithGradients(b), c => ContrastiveLoss.MultipleNegativesRanking(c));
        var actual = Gradients(model);

        Assert.Equal(plain.item<float>(), cached, 1e-5 * Math.Abs(cached));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, gradient) in expected)
            TensorAssert.Close(actual[name], gradient, 1e-5 * gradient.abs().max().item<float>() + 1e-9, what: name);
    }

    [Fact]
    public void WithDropoutTheSecondPassDrawsTheFirstPasssMasks()
    {
        // In training mode each mini-batch draws its dropout masks; GradCache must re-draw the same ones, so its gradients
        // are those of the loss over the first pass's embeddings: the mini-batches embedded with a graph in the same order
        // from the same seed.
        using var model = TinyModel(dropout: 0.3);
        model.Transformer.Network.train();
        using var scope = NewDisposeScope();
        TokenizedText[] anchors = Texts(3), positives = Texts(4);
        IReadOnlyList<Batch> anchorParts = Split(anchors, MiniBatch), positiveParts = Split(positives, MiniBatch);

        manual_seed(77);
        Tensor plain;
        using (enable_grad())
        {
            Tensor a = cat([.. anchorParts.Select(b => model.ForwardWithGradients(b))], 0);
            Tensor p = cat([.. positiveParts.Select(b => model.ForwardWithGradients(b))], 0);
            plain = ContrastiveLoss.MultipleNegativesRanking([a, p]);
            plain.backward();
        }
        var expected = Gradients(model);
        using Tensor stateAfterPlain = get_rng_state();
        ZeroGradients(model);

        manual_seed(77);
        double cached = GradCache.Backward([anchorParts, positiveParts], b => model.ForwardWithGradients(b), c => ContrastiveLoss.MultipleNegativesRanking(c), divisor: 2);
        var actual = Gradients(model);

        Assert.Equal(plain.item<float>(), cached, 1e-5 * Math.Abs(cached));
        foreach (var (name, gradient) in expected)
            TensorAssert.Close(actual[name] * 2, gradient, 1e-5 * gradient.abs().max().item<float>() + 1e-9, what: name + " (divided by 2)");
        // The generator ends where one pass would leave it, so the steps after draw as they would without caching.
        using Tensor stateAfterCached = get_rng_state();
        Assert.True(stateAfterCached.eq(stateAfterPlain).all().item<bool>());
    }
}
