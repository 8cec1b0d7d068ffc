using EncoderKit.IO;
using EncoderKit.Modeling;
using TorchSharp;
using static EncoderKit.Tests.IO.TestFiles;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// The builder's promise: a load that fails half-way frees every native tensor it built. Tensors are counted per
/// thread (TorchSharp's dispose-scope statistics count every tensor created and disposed on this thread), so tests
/// running in parallel on other threads do not disturb the count.
/// </summary>
public sealed class NetworkBuilderTests
{
    static long LiveTensors => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    static void AssertFailsWithoutLeaking(string folder, string problem, string? field = null)
    {
        long before = LiveTensors;
        Fails(ErrorKind.BadCheckpoint, () => EncoderModel.Load(folder).Dispose(), problem, field);
        Assert.Equal(before, LiveTensors);
    }

    [Fact]
    public void AWrongShapeInLayerOneFreesTheEmbeddingsAndLayerZeroAlreadyBuilt()
    {
        using var folder = TempFolder.FromReference("bert");
        const string name = "bert.encoder.layer.1.attention.output.dense.weight";
        RewriteTensors(folder.File("model.safetensors"), ts => ts.Select(t =>
            t.Name == name ? t with { Shape = [t.Shape[0] - 1, t.Shape[1]], Data = t.Data[..(int)((t.Shape[0] - 1) * t.Shape[1] * 4)] } : t));

        AssertFailsWithoutLeaking(folder.Path, "expected [", name);
    }

    [Fact]
    public void AMissingTensorFoundOnlyAtTheEndFreesTheWholeNetwork()
    {
        using var folder = TempFolder.FromReference("bert");
        RewriteTensors(folder.File("model.safetensors"), ts => ts.Where(t => t.Name != "bert.pooler.dense.bias"));

        AssertFailsWithoutLeaking(folder.Path, "bert.pooler.dense.bias");
    }

    // The counter must see the network at all, or the two tests above would pass on a load that leaks.
    [Fact]
    public void TheCountSeesEveryParameterOfALoadedModelUntilItIsDisposed()
    {
        long before = LiveTensors;
        using (var model = EncoderModel.Load(ReferenceData.Model("bert")))
            Assert.True(LiveTensors - before >= model.Network.parameters().Count(), $"{LiveTensors - before} live tensors for {model.Network.parameters().Count()} parameters");
        Assert.Equal(before, LiveTensors);
    }

    [Fact]
    public void AModelBuiltInsideTheCallersScopeOutlivesIt()
    {
        EncoderModel model;
        using (NewDisposeScope())
            model = EncoderModel.Load(ReferenceData.Model("bert"));
        using (model)
            Assert.All(model.Network.parameters(), p => Assert.False(p.IsInvalid));
    }

    [Fact]
    public void ChangeSpecBuildsTheChangedShape()
    {
        var builder = new NetworkBuilder(ConfigJson.Load(Path.Combine(ReferenceData.Model("bert"), "config.json"))) { ChangeSpec = s => s with { Layers = 1 } };
        using var network = builder.FromInitialization(ScalarType.Float32, CPU, seed: 0).Network;
        Assert.Equal(1, network.Spec.Layers);
        Assert.DoesNotContain(network.named_parameters(), p => p.name.StartsWith("layers.1.", StringComparison.Ordinal));
    }
}
