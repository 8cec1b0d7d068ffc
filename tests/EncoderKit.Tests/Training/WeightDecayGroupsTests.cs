using EncoderKit.IO;
using EncoderKit.Training;

namespace EncoderKit.Tests.Training;

/// <summary>No weight decay on biases and norm weights, decay on every other weight, as transformers' Trainer splits them.</summary>
public sealed class WeightDecayGroupsTests
{
    [Theory]
    // BERT's norms have weight and bias, Llama's RMSNorm a weight only, ModernBERT's LayerNorm no bias.
    [InlineData("bert")]
    [InlineData("llama_enc")]
    [InlineData("modernbert")]
    public void BiasesAndNormWeightsAreNotDecayed(string fixture)
    {
        using var model = EncoderModel.CreateRandom(ConfigJson.Load(Path.Combine(ReferenceData.Model(fixture), "config.json")), seed: 1);
        var groups = WeightDecayGroups.Split(model.Network, 0.01);
        Assert.Equal([0.01, 0.0], groups.Select(g => g.WeightDecay));
        var all = model.Network.named_parameters().ToList();
        Assert.Equal(all.Count, groups.Sum(g => g.Parameters.Count));

        // Every vector parameter (a bias, a norm's weight) is exempt; every matrix (projections, embeddings) decays.
        // A 1-d weight that is neither a bias nor a norm's would break this, and none of these families has one.
        Assert.All(groups[0].Parameters, p => Assert.True(p.Parameter.dim() == 2, $"{p.Name} is decayed"));
        Assert.All(groups[1].Parameters, p => Assert.True(p.Parameter.dim() == 1, $"{p.Name} is not decayed"));
        Assert.Contains(groups[1].Parameters, p => !p.Name.EndsWith("bias", StringComparison.Ordinal));   // a norm weight
    }
}
