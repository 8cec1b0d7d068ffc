using System.Text;

namespace EncoderKit.Tests.Hub;

/// <summary>Small fake model repositories, built in memory: what a BERT or sentence-transformers repo holds.</summary>
public static class FakeModels
{
    public static FakeFile Text(string text) => new(Encoding.UTF8.GetBytes(text), lfs: false);

    /// <summary>Deterministic bytes standing in for weights (the hub never looks inside them).</summary>
    public static FakeFile Weights(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return new FakeFile(bytes, lfs: true);
    }

    /// <summary>A sentence-transformers BERT repo: the files the model needs, and others it must not fetch.</summary>
    public static FakeRepo SentenceBert(string id = "org/tiny-bert") => new(id, new()
    {
        ["config.json"] = Text("""{"model_type": "bert", "hidden_size": 8}"""),
        ["model.safetensors"] = Weights(300_000, seed: 1),
        ["tokenizer.json"] = Text("""{"version": "1.0", "model": {"type": "WordPiece"}}"""),
        ["tokenizer_config.json"] = Text("""{"do_lower_case": false}"""),
        ["special_tokens_map.json"] = Text("""{"cls_token": "[CLS]"}"""),
        ["vocab.txt"] = Text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n"),
        ["modules.json"] = Text("""
            [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
             {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
             {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
             {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"}]
            """),
        ["sentence_bert_config.json"] = Text("""{"max_seq_length": 128}"""),
        ["config_sentence_transformers.json"] = Text("""{"prompts": {"query": "query: "}}"""),
        ["1_Pooling/config.json"] = Text("""{"pooling_mode_mean_tokens": true}"""),
        ["2_Dense/config.json"] = Text("""{"in_features": 8, "out_features": 4}"""),
        ["2_Dense/model.safetensors"] = Weights(1_000, seed: 2),
        // Present in real repos, never needed:
        ["README.md"] = Text("# tiny bert\n"),
        [".gitattributes"] = Text("*.safetensors filter=lfs\n"),
        ["pytorch_model.bin"] = Weights(5_000, seed: 3),
        ["onnx/model.onnx"] = Weights(4_000, seed: 4),
        ["2_Dense/pytorch_model.bin"] = Weights(900, seed: 5),
    });

    /// <summary>A plain BERT repo with sharded safetensors weights.</summary>
    public static FakeRepo Sharded(string id = "org/sharded-bert") => new(id, new()
    {
        ["config.json"] = Text("""{"model_type": "bert"}"""),
        ["vocab.txt"] = Text("[PAD]\n[UNK]\n"),
        ["model.safetensors.index.json"] = Text("""
            {"metadata": {"total_size": 3000},
             "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors",
                            "c.weight": "model-00002-of-00002.safetensors"}}
            """),
        ["model-00001-of-00002.safetensors"] = Weights(2_000, seed: 6),
        ["model-00002-of-00002.safetensors"] = Weights(1_000, seed: 7),
    });

    /// <summary>A repo whose only weights are pickle.</summary>
    public static FakeRepo PickleOnly(string id = "org/old-bert") => new(id, new()
    {
        ["config.json"] = Text("""{"model_type": "bert"}"""),
        ["vocab.txt"] = Text("[PAD]\n[UNK]\n"),
        ["pytorch_model.bin"] = Weights(3_000, seed: 8),
    });

    /// <summary>The reference BERT checkpoint's files, read at test time (never copied into the repository).</summary>
    public static FakeRepo ReferenceBert(string id = "google-bert/bert-base-cased")
    {
        string folder = ReferenceData.Model("bert");
        return new FakeRepo(id, new()
        {
            ["config.json"] = new FakeFile(File.ReadAllBytes(Path.Combine(folder, "config.json")), lfs: false),
            ["model.safetensors"] = new FakeFile(File.ReadAllBytes(Path.Combine(folder, "model.safetensors")), lfs: true),
            ["vocab.txt"] = Text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"),
        });
    }
}
