using System.Text.Json.Nodes;

namespace EncoderKit.Tests.Pretraining;

/// <summary>
/// config.json of a tiny masked-LM of each family (2 layers, hidden 64), made from the family's reference fixture config
/// with the vocabulary and special-token ids of the tokenizer a test pretrains it with.
/// </summary>
static class TinyConfigs
{
    public static IReadOnlyList<string> Families => [.. MaskedLmClass.Keys];

    /// <summary>
    /// initializer_range of the tiny models other than BERT's. Measured on the toy corpus (300 steps, lr 2e-3): at their
    /// default normal(0, 0.02) the 64-wide NomicBERT, ModernBERT and RetrievaBERT models learn the fixed words but not to
    /// copy A and B (held-out accuracy stays at the fixed-words plateau ≈ 0.77; NomicBERT still there after 1,200 steps;
    /// RetrievaBERT also at lr 5e-4 and 5e-3 and without dropout), and the Llama-style encoder learns it on one draw of
    /// the corpus (0.97, 4 of 4 animals) but not on another (1 of 4); at 0.2 all four reach 0.91–0.97. BERT (post-norm,
    /// learned positions) learns at 0.02. The families' forward and backward match the reference elsewhere; this is how a
    /// tiny model of them trains from a small init, not what they compute.
    /// </summary>
    public const double WideInit = 0.2;

    static readonly Dictionary<string, string> MaskedLmClass = new()
    {
        ["bert"] = "BertForMaskedLM", ["nomic_bert"] = "NomicBertForPreTraining", ["modernbert"] = "ModernBertForMaskedLM",
        ["llama_enc"] = "LlamaEncForMaskedLM", ["retrieva_bert"] = "RetrievaBertForMaskedLM",
    };

    /// <param name="padId">The tokenizer's padding id: the embedding row the family's init zeroes.</param>
    /// <param name="clsId">[CLS]/BOS, for the families whose config names it.</param>
    /// <param name="sepId">[SEP]/EOS, likewise.</param>
    public static JsonObject For(string family, int vocabSize, int padId, int clsId, int sepId, string? architecture = null)
    {
        JsonObject config = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceData.Model(family), "config.json")))!.AsObject();
        config["vocab_size"] = vocabSize;
        config["torch_dtype"] = "float32";
        config["pad_token_id"] = padId;
        config["architectures"] = new JsonArray(architecture ?? MaskedLmClass[family]);
        if (family != "bert") config["initializer_range"] = WideInit;
        // The families whose config names the sequence's special tokens, and the shapes that differ from 2 layers of 64.
        (string Key, JsonNode Value)[] changes = family switch
        {
            "modernbert" => [("num_hidden_layers", 2), ("global_attn_every_n_layers", 2), ("bos_token_id", clsId), ("cls_token_id", clsId), ("eos_token_id", sepId), ("sep_token_id", sepId)],
            "llama_enc" => [("hidden_size", 64), ("intermediate_size", 128), ("num_attention_heads", 4), ("num_key_value_heads", 2), ("bos_token_id", clsId), ("eos_token_id", sepId)],
            // No dropout, as the other pre-norm families here (MegatronBert's default is 0.1).
            "retrieva_bert" => [("hidden_dropout_prob", 0.0), ("attention_probs_dropout_prob", 0.0)],
            _ => [],
        };
        foreach (var (key, value) in changes) config[key] = value;
        return config;
    }
}
