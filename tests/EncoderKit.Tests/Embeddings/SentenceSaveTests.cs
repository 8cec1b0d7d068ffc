using System.Text.Json.Nodes;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Tests.Embeddings;

/// <summary>
/// Saving a sentence encoder writes the folder sentence-transformers' save() writes, and loading it back gives the same
/// vectors bit for bit (fp32 weights written as fp32, the same ops on them).
/// </summary>
public sealed class SentenceSaveTests
{
    static readonly string[] Texts = ["The cat sat on the mat.", "Embeddings turn text into vectors", "x"];

    [Fact]
    public void ASavedEncoderLoadsBackToTheSameVectorsWithItsPromptsAndModules()
    {
        var random = new Random(7);
        float[] Floats(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5))];
        using var source = new SentenceFolder("bert").Modules(("2_Dense", "Dense"), ("3_LayerNorm", "LayerNorm"), ("4_Normalize", "Normalize")).ClassicPooling("cls");
        var weight = new float[6, source.Hidden];
        for (int o = 0; o < 6; o++) for (int i = 0; i < source.Hidden; i++) weight[o, i] = (float)(random.NextDouble() - 0.5);
        source.Dense("2_Dense", weight, Floats(6), "torch.nn.modules.activation.Tanh")
            .LayerNorm("3_LayerNorm", Floats(6), Floats(6))
            .WriteJson("sentence_bert_config.json", new { max_seq_length = 64, do_lower_case = false })
            .WriteJson("config_sentence_transformers.json", new
            {
                prompts = new Dictionary<string, string> { ["query"] = "search_query: ", ["document"] = "search_document: " },
                default_prompt_name = "query",
                similarity_fn_name = "dot",
            });
        using var saved = new TempFolder();
        float[][] expectedDefault, expectedDocument;
        using (SentenceEncoder original = SentenceEncoder.Load(source.Path))
        {
            expectedDefault = original.Encode(Texts);
            expectedDocument = original.Encode(Texts, promptName: "document");
            original.Save(saved.Path);
        }

        using (SentenceEncoder reloaded = SentenceEncoder.Load(saved.Path))
        {
            Assert.Equal(expectedDefault, reloaded.Encode(Texts));
            Assert.Equal(expectedDocument, reloaded.Encode(Texts, promptName: "document"));
            Assert.Equal(SimilarityFunction.Dot, reloaded.SimilarityFunction);
            Assert.Equal("query", reloaded.DefaultPromptName);
            Assert.Equal(64, reloaded.MaxSeqLength);
            Assert.Equal(6, reloaded.FullDimension);
        }

        JsonArray modules = JsonNode.Parse(File.ReadAllText(Path.Combine(saved.Path, "modules.json")))!.AsArray();
        Assert.Equal(["", "1_Pooling", "2_Dense", "3_LayerNorm", "4_Normalize"], modules.Select(m => m!["path"]!.GetValue<string>()));
        Assert.Equal(["Transformer", "Pooling", "Dense", "LayerNorm", "Normalize"], modules.Select(m => m!["type"]!.GetValue<string>().Replace("sentence_transformers.models.", "", StringComparison.Ordinal)));
        Assert.Equal([0, 1, 2, 3, 4], modules.Select(m => m!["idx"]!.GetValue<int>()));
        JsonObject pooling = JsonNode.Parse(File.ReadAllText(Path.Combine(saved.Path, "1_Pooling", "config.json")))!.AsObject();
        Assert.True(pooling["pooling_mode_cls_token"]!.GetValue<bool>());
        Assert.False(pooling["pooling_mode_mean_tokens"]!.GetValue<bool>());
        Assert.True(pooling["include_prompt"]!.GetValue<bool>());
        JsonObject dense = JsonNode.Parse(File.ReadAllText(Path.Combine(saved.Path, "2_Dense", "config.json")))!.AsObject();
        Assert.Equal("torch.nn.modules.activation.Tanh", dense["activation_function"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(saved.Path, "tokenizer.json")) || File.Exists(Path.Combine(saved.Path, "vocab.txt")));
        JsonObject settings = JsonNode.Parse(File.ReadAllText(Path.Combine(saved.Path, "config_sentence_transformers.json")))!.AsObject();
        Assert.Equal("search_document: ", settings["prompts"]!["document"]!.GetValue<string>());
        Assert.Equal("dot", settings["similarity_fn_name"]!.GetValue<string>());
    }
}
