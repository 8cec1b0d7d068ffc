using EncoderKit.IO;
using EncoderKit.Modeling;

namespace EncoderKit.Tests.Modeling;

/// <summary>The family comes from config.json alone: model_type, else architectures, else auto_map's remote-code module.</summary>
public sealed class FamilyRecognitionTests
{
    [Theory]
    [InlineData("bert", "bert")]
    [InlineData("nomic_bert", "nomic_bert")]
    [InlineData("modernbert", "modernbert")]
    [InlineData("llama_enc", "llama_enc")]
    [InlineData("retrieva_bert", "retrieva-bert")]
    public void EachFixtureFolderIsRecognised(string fixture, string family) =>
        Assert.Equal(family, ModelFamilies.Recognize(ConfigJson.Load(Path.Combine(ReferenceData.Model(fixture), "config.json"))).Name);

    [Theory]
    [InlineData("""{"architectures": ["ModernBertForMaskedLM"]}""", "modernbert")]
    [InlineData("""{"architectures": ["NomicBertModel"]}""", "nomic_bert")]
    [InlineData("""{"auto_map": {"AutoModel": "modeling_llama_enc.LlamaEncModel"}}""", "llama_enc")]
    [InlineData("""{"auto_map": {"AutoModelForMaskedLM": "retrieva-jp/bert-1.3b--modeling_retrieva_bert.X", "AutoTokenizer": ["tok.Slow", null]}}""", "retrieva-bert")]
    [InlineData("""{"model_type": "nomic_bert_custom", "auto_map": {"AutoModel": "modeling_hf_nomic_bert.NomicBertModel"}}""", "nomic_bert")]
    public void ArchitecturesAndAutoMapAlsoName(string json, string family) =>
        Assert.Equal(family, ModelFamilies.Recognize(ConfigJson.Parse(json, "config.json")).Name);

    [Fact]
    public void AnUnknownFamilyListsTheSupportedOnes()
    {
        var e = Assert.Throws<EncoderKitException>(() => ModelFamilies.Recognize(ConfigJson.Parse("""{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}""", "config.json")));
        Assert.Equal(ErrorKind.UnknownFamily, e.Kind);
        foreach (string name in new[] { "bert", "nomic_bert", "modernbert", "llama_enc", "retrieva-bert" })
            Assert.Contains(name, e.Message);
        Assert.Contains("gpt2", e.Message);
    }
}
