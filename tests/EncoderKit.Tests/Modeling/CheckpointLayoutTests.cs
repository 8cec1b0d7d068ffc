using EncoderKit.IO;
using EncoderKit.Modeling.Heads;
using static EncoderKit.Tests.IO.TestFiles;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>The name variants real BERT checkpoints carry (saving back in the family's layout: <see cref="SaveRoundTripTests"/>).</summary>
public sealed class CheckpointLayoutTests
{
    static void Rewrite(TempFolder folder, Func<string, string?> rename) =>
        RewriteTensors(folder.File("model.safetensors"), ts => ts.Select(t => rename(t.Name) is { } n ? t with { Name = n } : null).OfType<TensorData>());

    static Tensor LastHiddenState(string folder)
    {
        using var fixture = new Fixture("bert");
        using var model = EncoderModel.Load(folder);
        using var outputs = model.Forward(fixture.InputIds, fixture.AttentionMask, fixture.TokenTypeIds, EncoderKit.Modeling.Outputs.LastHiddenState);
        return outputs.LastHiddenState.clone();
    }

    [Fact]
    public void LegacyLayerNormGammaBetaNamesLoadToTheSameModel()
    {
        using var legacy = TempFolder.FromReference("bert");
        Rewrite(legacy, n => n.Replace("LayerNorm.weight", "LayerNorm.gamma").Replace("LayerNorm.bias", "LayerNorm.beta"));
        using var expected = LastHiddenState(ReferenceData.Model("bert"));
        using var got = LastHiddenState(legacy.Path);
        Assert.True(got.equal(expected).all().item<bool>());
    }

    [Fact]
    public void ABareBertModelCheckpointWithoutPrefixOrHeadsLoads()
    {
        // BertModel.save_pretrained: encoder names without "bert.", no cls.* heads.
        using var bare = TempFolder.FromReference("bert");
        Rewrite(bare, n => n.StartsWith("bert.", StringComparison.Ordinal) ? n["bert.".Length..] : null);
        using var model = EncoderModel.Load(bare.Path);
        Assert.Null(model.Spec.Heads.Mlm);
        Assert.Null(model.Spec.Heads.Get<NspHeadSpec>());
        Assert.NotNull(model.Spec.Heads.Get<PoolerSpec>());
        using var expected = LastHiddenState(ReferenceData.Model("bert"));
        using var got = LastHiddenState(bare.Path);
        Assert.True(got.equal(expected).all().item<bool>());
    }
}
