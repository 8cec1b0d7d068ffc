using EncoderKit.IO;
using EncoderKit.Modeling.Heads;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>The weight map in both directions, and the name variants real BERT checkpoints carry.</summary>
public sealed class CheckpointLayoutTests
{
    static Dictionary<string, byte[]> TensorBytes(string file)
    {
        using var source = SafetensorsFile.Open(file);
        return source.Tensors.ToDictionary(t => t.Name, t => source.Bytes(t.Name).ToArray());
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("bert-seqcls")]
    public void SavingWritesBackTheFamilysOwnTensorsByteForByte(string fixture)
    {
        using var saved = new TempFolder();
        using (var model = EncoderModel.Load(ReferenceData.Model(fixture)))
            model.Save(saved.Path);

        var original = TensorBytes(Path.Combine(ReferenceData.Model(fixture), "model.safetensors"));
        var written = TensorBytes(saved.File("model.safetensors"));
        Assert.Equal(original.Keys.Order(), written.Keys.Order());
        foreach (var (name, bytes) in original)
            Assert.True(bytes.AsSpan().SequenceEqual(written[name]), $"{name} differs after load → save");
        using var reloaded = EncoderModel.Load(saved.Path);
        using var first = EncoderModel.Load(ReferenceData.Model(fixture));
        Assert.Equal(first.Spec.ToString(), reloaded.Spec.ToString());
        Assert.Equal(first.Spec.Heads.Get<ClassifierSpec>()?.LabelNames, reloaded.Spec.Heads.Get<ClassifierSpec>()?.LabelNames);
    }

    static void Rewrite(TempFolder folder, Func<string, string?> rename)
    {
        List<TensorData> tensors;
        using (var file = SafetensorsFile.Open(folder.File("model.safetensors")))
            tensors = file.Tensors.Select(t => rename(t.Name) is { } n ? new TensorData(n, t.Dtype, t.Shape, file.Bytes(t.Name).ToArray()) : null)
                .OfType<TensorData>().ToList();
        SafetensorsWriter.Write(folder.File("model.safetensors"), tensors);
    }

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
