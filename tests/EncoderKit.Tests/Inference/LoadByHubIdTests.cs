using EncoderKit.Hub;
using EncoderKit.Inference;
using EncoderKit.Tests.Hub;

namespace EncoderKit.Tests.Inference;

/// <summary>The architecture doc's first example end to end: a model named by hub id, fetched from a local fake hub, then used offline.</summary>
public sealed class LoadByHubIdTests
{
    static FakeRepo BertBaseCased()
    {
        static FakeFile Read(string folder, string name, bool lfs) => new(File.ReadAllBytes(Path.Combine(folder, name)), lfs);
        string model = ReferenceData.Model("bert"), tokenizer = ReferenceData.Tokenizer("bert-base-cased");
        return new FakeRepo("google-bert/bert-base-cased", new()
        {
            ["config.json"] = Read(model, "config.json", lfs: false),
            ["model.safetensors"] = Read(model, "model.safetensors", lfs: true),
            ["tokenizer.json"] = Read(tokenizer, "tokenizer.json", lfs: false),
            ["vocab.txt"] = Read(tokenizer, "vocab.txt", lfs: false),
        });
    }

    [Fact]
    public async Task FillMaskByHubIdThenOfflineFromTheCache()
    {
        FakeRepo repo = BertBaseCased();
        await using var bed = await HubTestBed.StartAsync(repo);

        using (var model = await EncoderModel.LoadAsync(repo.Id, new EncoderModelOptions { Hub = bed.Options() }))
        {
            var top = new FillMask(model).Predict("Hello I'm a [MASK] model.")[0][0];
            Assert.Equal("starter", top.TokenStr);   // the pipeline's answer for these weights (fillmask_expected.json)
            Assert.Equal(0.5632566809654236, top.Score, 1e-4);
        }

        bed.Hub.Requests.Clear();
        using (var again = await EncoderModel.LoadAsync(repo.Id, new EncoderModelOptions { Hub = bed.Options(offline: true) }))
            Assert.Equal("starter", new FillMask(again).Predict("Hello I'm a [MASK] model.")[0][0].TokenStr);
        Assert.Empty(bed.Hub.Requests);
    }
}
