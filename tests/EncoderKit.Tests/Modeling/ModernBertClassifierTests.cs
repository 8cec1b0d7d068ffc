using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using EncoderKit.Tests.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// ModernBertForSequenceClassification on a tiny random checkpoint written here in its Hugging Face layout, against
/// logits computed in this test with plain torch ops, written from transformers' modeling_modernbert.py (4.57)
/// and sharing no code with the library: embeddings → norm; per layer x += Wo·attn(rope(Wqkv·attn_norm(x)))
/// (layer 0 without attn_norm; local layers |i - j| &lt;= local_attention / 2 with local_rope_theta), x +=
/// Wo·(gelu(a) * g) with [a; g] = Wi·mlp_norm(x); final_norm; pool (cls: position 0, mean: over real tokens);
/// head = norm(gelu(dense(pooled))); logits = classifier(head).
/// </summary>
public sealed class ModernBertClassifierTests
{
    const int Hidden = 32, Heads = 2, HeadDim = 16, Layers = 3, Intermediate = 24, Vocab = 50, Labels = 3, Window = 6, Length = 14;
    const double GlobalTheta = 160_000, LocalTheta = 10_000, Eps = 1e-5;

    static string Config(string pooling) => $$"""
        {"architectures": ["ModernBertForSequenceClassification"], "model_type": "modernbert",
         "hidden_size": {{Hidden}}, "num_attention_heads": {{Heads}}, "num_hidden_layers": {{Layers}},
         "intermediate_size": {{Intermediate}}, "vocab_size": {{Vocab}}, "local_attention": {{Window}},
         "global_attn_every_n_layers": 2, "global_rope_theta": {{GlobalTheta}}, "local_rope_theta": {{LocalTheta}},
         "norm_eps": {{Eps}}, "norm_bias": false, "attention_bias": false, "mlp_bias": false,
         "hidden_activation": "gelu", "classifier_activation": "gelu", "classifier_bias": false,
         "classifier_pooling": "{{pooling}}", "pad_token_id": 0, "max_position_embeddings": 512,
         "id2label": {"0": "neg", "1": "neu", "2": "pos"} }
        """;

    /// <summary>Every tensor the published ModernBertForSequenceClassification layout holds, random.</summary>
    static Dictionary<string, Tensor> RandomCheckpoint()
    {
        var g = new Generator(11);
        Tensor Matrix(long rows, long cols) => randn([rows, cols], generator: g) * 0.3;
        Tensor NormWeight() => 1 + randn([Hidden], generator: g) * 0.1;
        var t = new Dictionary<string, Tensor>
        {
            ["model.embeddings.tok_embeddings.weight"] = randn([Vocab, Hidden], generator: g),
            ["model.embeddings.norm.weight"] = NormWeight(),
            ["model.final_norm.weight"] = NormWeight(),
            ["head.dense.weight"] = Matrix(Hidden, Hidden),
            ["head.norm.weight"] = NormWeight(),
            ["classifier.weight"] = Matrix(Labels, Hidden),
            ["classifier.bias"] = randn([Labels], generator: g) * 0.1,
        };
        for (int i = 0; i < Layers; i++)
        {
            if (i > 0) t[$"model.layers.{i}.attn_norm.weight"] = NormWeight();
            t[$"model.layers.{i}.attn.Wqkv.weight"] = Matrix(3 * Hidden, Hidden);
            t[$"model.layers.{i}.attn.Wo.weight"] = Matrix(Hidden, Hidden);
            t[$"model.layers.{i}.mlp_norm.weight"] = NormWeight();
            t[$"model.layers.{i}.mlp.Wi.weight"] = Matrix(2 * Intermediate, Hidden);
            t[$"model.layers.{i}.mlp.Wo.weight"] = Matrix(Hidden, Intermediate);
        }
        return t;
    }

    static Tensor LayerNorm(Tensor x, Tensor weight)
    {
        Tensor mean = x.mean([-1L], keepdim: true);
        Tensor variance = (x - mean).square().mean([-1L], keepdim: true);
        return (x - mean) / (variance + Eps).sqrt() * weight;
    }

    static Tensor Gelu(Tensor x) => 0.5 * x * (1 + (x / Math.Sqrt(2)).erf());

    static Tensor Rope(Tensor x, double theta)   // x: [B, h, L, d]
    {
        long length = x.shape[2];
        Tensor inverse = 1.0 / pow(theta, TensorRange.Arange(0, HeadDim, ScalarType.Float64, CPU, step: 2) / HeadDim);
        Tensor angles = TensorRange.Arange(length, ScalarType.Float64, CPU).unsqueeze(1) * inverse.unsqueeze(0);
        Tensor cos = cat([angles, angles], -1).cos(), sin = cat([angles, angles], -1).sin();
        Tensor rotated = cat([-x.narrow(-1, HeadDim / 2, HeadDim / 2), x.narrow(-1, 0, HeadDim / 2)], -1);
        return x * cos + rotated * sin;
    }

    static Tensor ReferenceLogits(Dictionary<string, Tensor> w, Tensor ids, Tensor attentionMask, string pooling)
    {
        Tensor W(string name) => w[name].to_type(ScalarType.Float64);
        long batch = ids.shape[0], length = ids.shape[1];
        Tensor x = LayerNorm(W("model.embeddings.tok_embeddings.weight")[ids], W("model.embeddings.norm.weight"));
        Tensor real = attentionMask.to_type(ScalarType.Bool).view(batch, 1, 1, length);
        Tensor position = TensorRange.Arange(length, ScalarType.Int64, CPU);
        using Scalar reach = (Window / 2).ToScalar(), lowest = double.MinValue.ToScalar();
        Tensor band = (position.unsqueeze(1) - position.unsqueeze(0)).abs().le(reach).view(1, 1, length, length);
        for (int i = 0; i < Layers; i++)
        {
            bool global = i % 2 == 0;
            Tensor h = i == 0 ? x : LayerNorm(x, W($"model.layers.{i}.attn_norm.weight"));
            Tensor qkv = h.matmul(W($"model.layers.{i}.attn.Wqkv.weight").t()).view(batch, length, 3, Heads, HeadDim);
            Tensor q = Rope(qkv.select(2, 0).transpose(1, 2), global ? GlobalTheta : LocalTheta);
            Tensor k = Rope(qkv.select(2, 1).transpose(1, 2), global ? GlobalTheta : LocalTheta);
            Tensor v = qkv.select(2, 2).transpose(1, 2);
            Tensor allowed = global ? real : real & band;
            Tensor scores = q.matmul(k.transpose(-1, -2)) / Math.Sqrt(HeadDim);
            // As transformers: the most negative finite value, so a padded query that sees no key gets uniform weights, not NaN.
            Tensor attended = scores.masked_fill(allowed.logical_not(), lowest).softmax(-1).matmul(v);
            x = x + attended.transpose(1, 2).reshape(batch, length, Hidden).matmul(W($"model.layers.{i}.attn.Wo.weight").t());
            Tensor[] halves = LayerNorm(x, W($"model.layers.{i}.mlp_norm.weight")).matmul(W($"model.layers.{i}.mlp.Wi.weight").t()).chunk(2, -1);
            x = x + (Gelu(halves[0]) * halves[1]).matmul(W($"model.layers.{i}.mlp.Wo.weight").t());
        }
        x = LayerNorm(x, W("model.final_norm.weight"));
        Tensor m = attentionMask.to_type(ScalarType.Float64).unsqueeze(-1);
        Tensor pooled = pooling == "cls" ? x.select(1, 0) : (x * m).sum(1) / m.sum(1);
        Tensor head = LayerNorm(Gelu(pooled.matmul(W("head.dense.weight").t())), W("head.norm.weight"));
        return head.matmul(W("classifier.weight").t()) + W("classifier.bias");
    }

    [Theory]
    [InlineData("mean"), InlineData("cls")]
    public void LogitsMatchAPlainTorchComputation(string pooling)
    {
        using var scope = NewDisposeScope();
        using var folder = new TempFolder();
        Dictionary<string, Tensor> weights = RandomCheckpoint();
        File.WriteAllText(folder.File("config.json"), Config(pooling));
        SafetensorsWriter.Write(folder.File("model.safetensors"), weights.Select(p =>
        {
            var (dtype, shape, data) = TorchTensors.ToStored(p.Value.to_type(ScalarType.Float32));
            return new TensorData(p.Key, dtype, shape, data);
        }));

        Tensor ids = randint(1, Vocab, [3, Length], dtype: ScalarType.Int64, generator: new Generator(5));
        Tensor mask = ones(3, Length, ScalarType.Int64);
        mask[1].narrow(0, 9, Length - 9).zero_();    // 9 real tokens: still longer than the ±3 window
        mask[2].narrow(0, 3, Length - 3).zero_();    // 3 real tokens: inside it

        using var model = EncoderModel.Load(folder.Path);
        Assert.Equal(pooling == "mean" ? ClassifierPooling.Mean : ClassifierPooling.Cls, model.Spec.Heads.Get<ClassifierSpec>()!.Pooling);
        Assert.Equal(["neg", "neu", "pos"], model.Spec.Heads.Get<ClassifierSpec>()!.LabelNames);
        using var outputs = model.Forward(ids, mask, outputs: Outputs.Classifier);
        Tensor expected = ReferenceLogits(weights, ids, mask, pooling);
        TensorAssert.Close(outputs.ClassifierLogits!, expected, 1e-5, what: "classifier_logits");

        // Padding changes nothing: each row alone gives its logits from the batch.
        for (int row = 0; row < 3; row++)
        {
            long real = mask[row].sum().item<long>();
            using var alone = model.Forward(ids[row].narrow(0, 0, real).unsqueeze(0), outputs: Outputs.Classifier);
            TensorAssert.Close(alone.ClassifierLogits![0], outputs.ClassifierLogits![row], 1e-5, what: $"row {row} alone");
        }
    }
}
