using System.Text.Json.Nodes;

namespace EncoderKit.Tests.Pretraining;

/// <summary>
/// config.json of a tiny masked-LM of each family (2 layers, hidden 64), made from the family's reference fixture config
/// with the vocabulary and special-token ids of the tokenizer a test pretrains it with.
/// </summary>
static class TinyConfigs
{
    public static readonly string[] Families = ["bert", "nomic_bert", "modernbert", "llama_enc", "retrieva_bert"];

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

    /// <param name="padId">The tokenizer's padding id: the embedding row the family's init zeroes.</param>
    /// <param name="clsId">[CLS]/BOS, for the families whose config names it.</param>
    /// <param name="sepId">[SEP]/EOS, likewise.</param>
    public static JsonObject For(string family, int vocabSize, int padId, int clsId, int sepId, string? architecture = null)
    {
        JsonObject config = JsonNode.Parse(File.ReadAllText(Path.Combine(ReferenceData.Model(family), "config.json")))!.AsObject();
        config["vocab_size"] = vocabSize;
        config["torch_dtype"] = "float32";
        switch (family)
        {
            case "bert":
                config["pad_token_id"] = padId;
                config["architectures"] = new JsonArray(architecture ?? "BertForMaskedLM");
                break;
            case "nomic_bert":
                config["pad_token_id"] = padId;
                config["initializer_range"] = WideInit;
                config["architectures"] = new JsonArray(architecture ?? "NomicBertForPreTraining");
                break;
            case "modernbert":
                config["initializer_range"] = WideInit;
                config["num_hidden_layers"] = 2;
                config["global_attn_every_n_layers"] = 2;
                config["pad_token_id"] = padId;
                config["bos_token_id"] = clsId;
                config["cls_token_id"] = clsId;
                config["eos_token_id"] = sepId;
                config["sep_token_id"] = sepId;
                config["architectures"] = new JsonArray(architecture ?? "ModernBertForMaskedLM");
                break;
            case "llama_enc":
                config["initializer_range"] = WideInit;
                config["hidden_size"] = 64;
                config["intermediate_size"] = 128;
                config["num_attention_heads"] = 4;
                config["num_key_value_heads"] = 2;
                config["pad_token_id"] = padId;
                config["bos_token_id"] = clsId;
                config["eos_token_id"] = sepId;
                config["architectures"] = new JsonArray(architecture ?? "LlamaEncForMaskedLM");
                break;
            case "retrieva_bert":
                config["pad_token_id"] = padId;
                config["initializer_range"] = WideInit;
                config["hidden_dropout_prob"] = 0.0;
                config["attention_probs_dropout_prob"] = 0.0;
                config["architectures"] = new JsonArray(architecture ?? "RetrievaBertForMaskedLM");
                break;
            default:
                throw new ArgumentException($"no tiny config for {family}", nameof(family));
        }
        return config;
    }
}
