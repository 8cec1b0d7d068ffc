using System.Text.Json.Nodes;
using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// CreateRandom draws weights as each reference's _init_weights does. The statistics are of thousands to millions
/// of draws, so the bounds (a few percent on a std) are many standard errors wide yet far tighter than the
/// difference between the rules (a truncated normal at ±2σ has 12% less spread; ModernBERT's output layers a third
/// of the input layers' std; an untruncated normal of a million draws passes 4σ hundreds of times).
/// </summary>
public sealed class InitializationTests
{
    static EncoderModel Create(string fixture, long seed = 5, Action<JsonObject>? edit = null)
    {
        string file = Path.Combine(ReferenceData.Model(fixture), "config.json");
        JsonObject root = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        edit?.Invoke(root);
        return EncoderModel.CreateRandom(ConfigJson.Parse(root.ToJsonString(), file), seed: seed);
    }

    static Tensor Parameter(EncoderModel model, string name) => model.Network.named_parameters().Single(p => p.name == name).parameter;

    static double Std(Tensor t) => t.to_type(ScalarType.Float64).std().item<double>();
    static double MaxAbs(Tensor t) => t.abs().max().to_type(ScalarType.Float64).item<double>();

    // The std of a normal(0, 1) truncated to ±c: √(1 − 2cφ(c) / (Φ(c) − Φ(−c))).
    static double TruncatedStdFactor(double c)
    {
        double density = Math.Exp(-c * c / 2) / Math.Sqrt(2 * Math.PI);
        using Tensor mass = special.erf(tensor(c / Math.Sqrt(2), ScalarType.Float64));
        return Math.Sqrt(1 - 2 * c * density / mass.item<double>());
    }

    static void AssertStd(double expected, Tensor t, double relative, string what) =>
        Assert.True(Math.Abs(Std(t) - expected) <= relative * expected, $"{what}: std {Std(t):G4}, expected {expected:G4} ± {relative:P0}");

    [Theory]
    [InlineData("bert", 0)]
    [InlineData("retrieva_bert", 4)]
    public void BertLikeFamiliesDrawNormalWeightsWithAZeroPaddingRow(string fixture, int pad)
    {
        using var model = Create(fixture);
        using var scope = NewDisposeScope();
        Tensor word = Parameter(model, "embeddings.word");
        Assert.Equal(0, MaxAbs(word[pad]));
        Tensor others = cat([word.narrow(0, 0, pad), word.narrow(0, pad + 1, word.shape[0] - pad - 1)], 0);
        AssertStd(0.02, others, 0.02, "word embeddings");
        Assert.True(MaxAbs(others) > 4 * 0.02, "a million normal draws pass 4σ; these look truncated");
        AssertStd(0.02, Parameter(model, "layers.0.attention.qkv.weight"), 0.05, "qkv");
        AssertStd(0.02, Parameter(model, "layers.1.mlp.output.weight"), 0.05, "mlp output");
        foreach (var (name, value) in model.Network.named_parameters())
        {
            if (name.EndsWith(".bias", StringComparison.Ordinal) || name.EndsWith("decoder_bias", StringComparison.Ordinal))
                Assert.True(MaxAbs(value) == 0, $"{name} is not zero");
            if (name.Contains("norm.weight", StringComparison.Ordinal))
                Assert.True(MaxAbs(value - 1) == 0, $"{name} is not one");
        }
    }

    [Theory]
    [InlineData("llama_enc")]
    [InlineData("nomic_bert")]
    public void FamiliesWithoutAPaddingIdDrawEveryRow(string fixture)
    {
        using var model = Create(fixture);
        using var scope = NewDisposeScope();
        Tensor word = Parameter(model, "embeddings.word");
        Assert.True(word.abs().sum(1).min().item<float>() > 0, "a word-embedding row is zero although the config names no padding id");
        AssertStd(0.02, word, 0.02, "word embeddings");
        Assert.True(MaxAbs(word) > 4 * 0.02, "a million normal draws pass 4σ; these look truncated");
        AssertStd(0.02, Parameter(model, "layers.0.attention.qkv.weight"), 0.1, "qkv");
    }

    [Fact]
    public void ModernBertDrawsTruncatedNormalsScaledPerModule()
    {
        using var model = Create("modernbert");   // initializer_range 0.02, initializer_cutoff_factor 2.0, 4 layers
        using var scope = NewDisposeScope();
        double factor = TruncatedStdFactor(2), range = 0.02, output = range / Math.Sqrt(2 * 4);
        Tensor word = Parameter(model, "embeddings.word");
        AssertStd(range * factor, word, 0.02, "word embeddings");
        Assert.True(MaxAbs(word) <= 2 * range * 1.0001 && MaxAbs(word) > 1.95 * range, $"word embeddings reach {MaxAbs(word):G4}, expected just under 2 × {range}");
        Assert.True(MaxAbs(word[50283]) > 0, "ModernBERT's truncated normal overwrites the padding row");
        foreach (string name in new[] { "layers.0.attention.qkv.weight", "layers.3.mlp.input.weight" })
            AssertStd(range * factor, Parameter(model, name), 0.05, name);
        foreach (string name in new[] { "layers.0.attention.output.weight", "layers.2.mlp.output.weight", "mlm.transform.dense.weight" })
        {
            Tensor weight = Parameter(model, name);
            AssertStd(output * factor, weight, 0.06, name);
            Assert.True(MaxAbs(weight) <= 2 * output * 1.0001, $"{name} passes ±2 × {output:G4}");
        }
    }

    [Theory]
    [InlineData("modernbert-seqcls", "classifier")]
    [InlineData("modernbert-tokcls", "token_classifier")]
    public void ModernBertClassifierStdIsHiddenSizeToTheMinusHalf(string fixture, string head)
    {
        // hidden_size 16, 3 layers; more labels than the fixture has, so the std is measured over enough draws (500 × 16).
        using var model = Create(fixture, edit: root =>
        {
            root.Remove("id2label");
            root.Remove("label2id");
            root["num_labels"] = 500;
        });
        using var scope = NewDisposeScope();
        Tensor classifier = Parameter(model, head + ".output.weight");
        double std = 1 / Math.Sqrt(16);
        AssertStd(std * TruncatedStdFactor(2), classifier, 0.05, "classifier");
        Assert.True(MaxAbs(classifier) <= 2 * std * 1.0001, "classifier passes its truncation bound");
        AssertStd(0.02 / Math.Sqrt(2 * 3) * TruncatedStdFactor(2), Parameter(model, head + ".transform.dense.weight"), 0.15, "classifier head dense (256 draws)");
    }

    [Fact]
    public void TheSeedDecidesTheDraws()
    {
        using var a = Create("bert", seed: 1);
        using var b = Create("bert", seed: 1);
        using var c = Create("bert", seed: 2);
        using var scope = NewDisposeScope();
        Assert.Equal(0, MaxAbs(Parameter(a, "embeddings.word") - Parameter(b, "embeddings.word")));
        Assert.True(MaxAbs(Parameter(a, "embeddings.word") - Parameter(c, "embeddings.word")) > 0);
    }
}
