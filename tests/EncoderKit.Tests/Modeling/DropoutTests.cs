using System.Text.Json.Nodes;
using EncoderKit.IO;
using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// Dropout rates come from each family's own config keys and apply only in training mode: two inference runs are
/// identical, training runs differ from them and from each other, and a rate of 0 in training equals inference.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class DropoutTests
{
    public static TheoryData<string> BaseFixtures => new(ReferenceFixtures.All.Where(ReferenceFixtures.IsBase));

    // Every dropout key any family reads, each with its own value, so a rate read from the wrong key shows.
    static readonly Dictionary<string, double> DistinctRates = new()
    {
        ["hidden_dropout_prob"] = 0.11, ["attention_probs_dropout_prob"] = 0.12, ["classifier_dropout"] = 0.13,
        ["embedding_dropout"] = 0.21, ["attention_dropout"] = 0.22, ["mlp_dropout"] = 0.23,
        ["embd_pdrop"] = 0.31, ["resid_pdrop"] = 0.32, ["attn_pdrop"] = 0.33,
    };

    static ConfigJson Config(string fixture, Func<string, double> rate)
    {
        string file = Path.Combine(ReferenceData.Model(fixture), "config.json");
        JsonObject root = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        foreach (string key in DistinctRates.Keys) root[key] = rate(key);
        return ConfigJson.Parse(root.ToJsonString(), file);
    }

    [Theory]
    // (embedding, attention probabilities, attention output, MLP inner, MLP output, classifier), as each reference places them.
    [InlineData("bert", 0.11, 0.12, 0.11, 0, 0.11, 0.13)]
    [InlineData("modernbert", 0.21, 0.22, 0.22, 0.23, 0, 0.13)]
    [InlineData("nomic_bert", 0.31, 0.33, 0.32, 0, 0.32, 0.13)]
    [InlineData("llama_enc", 0, 0.22, 0, 0, 0, 0)]
    [InlineData("retrieva_bert", 0.11, 0.12, 0.11, 0, 0.11, 0.13)]
    public void RatesComeFromTheFamilysConfigKeys(string fixture, double embedding, double probabilities, double attentionOutput, double mlpInner, double mlpOutput, double classifier)
    {
        ConfigJson config = Config(fixture, key => DistinctRates[key]);
        EncoderSpec spec = ModelFamilies.Recognize(config).Spec(config, null);
        Assert.Equal(new DropoutSpec(embedding, probabilities, attentionOutput, mlpInner, mlpOutput, classifier), spec.Dropout);
    }

    [Fact]
    public void AProbabilityOutsideZeroToOneIsABadConfig()
    {
        ConfigJson config = Config("bert", key => key == "hidden_dropout_prob" ? 1.5 : 0.1);
        var error = Assert.Throws<EncoderKitException>(() => ModelFamilies.Recognize(config).Spec(config, null));
        Assert.Equal(ErrorKind.BadConfig, error.Kind);
        Assert.Contains("1.5", error.Message);
    }

    [Fact]
    public void BertClassifierDropoutFallsBackToHiddenDropout()
    {
        // The fixture's config has classifier_dropout: null and hidden_dropout_prob: 0.1, as bert-base-cased.
        ConfigJson config = ConfigJson.Load(Path.Combine(ReferenceData.Model("bert-seqcls"), "config.json"));
        Assert.Null(config.DoubleOrNull("classifier_dropout"));
        Assert.Equal(config.Double("hidden_dropout_prob"), ModelFamilies.Recognize(config).Spec(config, null).Dropout.Classifier);
    }

    [Theory, MemberData(nameof(BaseFixtures))]
    public void DropoutActsInTrainingModeOnly(string name)
    {
        using var fixture = new Fixture(name);
        using var dropping = EncoderModel.CreateRandom(Config(name, _ => 0.1), seed: 3);
        using var still = EncoderModel.CreateRandom(Config(name, _ => 0.0), seed: 3);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor ids = fixture.InputIds, mask = fixture.AttentionMask;
        Tensor? types = fixture.TokenTypeIds;
        Tensor[] Run(EncoderModel model, bool training, long seed)
        {
            if (training) model.Network.train();
            else model.Network.eval();
            manual_seed(seed);
            // The base fixtures' heads (MLM, pooler, NSP) have no dropout of their own: the hidden states show it all.
            using EncoderOutputs outputs = model.Network.Forward(ids, mask, types, Outputs.HiddenStates);
            return outputs.Named().Select(o => o.Value.clone()).ToArray();
        }
        double Difference(Tensor[] a, Tensor[] b) => a.Zip(b).Max(p => TensorAssert.MaxAbsDiff(p.First, p.Second, mask));

        Tensor[] inference = Run(dropping, training: false, seed: 1);
        Assert.Equal(0, Difference(inference, Run(dropping, training: false, seed: 2)));
        Assert.Equal(0, Difference(inference, Run(still, training: false, seed: 1)));   // same weights: only the rates differ

        Tensor[] trainingA = Run(dropping, training: true, seed: 1), trainingB = Run(dropping, training: true, seed: 2);
        Assert.True(Difference(trainingA, inference) > 1e-3, "training-mode dropout left the outputs unchanged");
        Assert.True(Difference(trainingA, trainingB) > 1e-3, "two training runs with different seeds gave the same outputs");
        Assert.Equal(0, Difference(trainingA, Run(dropping, training: true, seed: 1)));

        Assert.Equal(0, Difference(inference, Run(still, training: true, seed: 1)));
    }
}
