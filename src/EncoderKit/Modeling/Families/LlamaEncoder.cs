using EncoderKit.IO;
using EncoderKit.Modeling.Blocks;
using EncoderKit.Modeling.Heads;

namespace EncoderKit.Modeling.Families;

/// <summary>
/// The Llama-style bidirectional encoder (tohoku-nlp/tohokunlp-bert-500m-sq8192-alpha, model_type llama_enc):
/// Llama blocks without the causal mask. RMSNorm (statistics in float32), pre-norm, SwiGLU down(silu(gate(x)) *
/// up(x)), rotate-half RoPE with rope_theta, grouped-query attention (query head h reads key/value head
/// h / (heads / kv_heads), as repeat_kv), final norm, an MLM head that is one linear layer (lm_head).
/// </summary>
/// <remarks>
/// RECONSTRUCTED LAYOUT. The checkpoint's remote code (modeling_llama_enc.py) is not published anywhere we can
/// reach; the reference fixture was produced by transformers' LlamaModel with a padding-only (bidirectional) mask
/// and an untied lm_head applied directly to the final RMSNorm output. What is assumed, not verified:
/// <list type="bullet">
/// <item>tensor names: transformers' Llama names under "model." (embed_tokens, layers.{i}.self_attn.{q,k,v,o}_proj,
/// mlp.{gate,up,down}_proj, input_layernorm, post_attention_layernorm, norm) and "lm_head.weight";</item>
/// <item>the MLM head: lm_head on the final-norm output, no transform, no bias, untied unless tie_word_embeddings;</item>
/// <item>position ids 0..L-1 per row (right padding), no rope_scaling;</item>
/// <item>the task heads of its auto_map (sequence / token classification, QA): not carried, layout unknown.</item>
/// </list>
/// A real checkpoint whose names or shapes differ does not half-load: the loader lists every tensor the model
/// needs that is missing and every stored tensor nothing asked for, and names the tensor of any shape mismatch.
/// </remarks>
public sealed class LlamaEncoder : IEncoderFamily
{
    public string Name => "llama_enc";

    public string BasePrefix => "model.";

    public bool Recognizes(ConfigJson config) => FamilyRecognition.Matches(config, ["llama_enc"], "LlamaEnc", "modeling_llama_enc");

    public EncoderSpec Spec(ConfigJson c, CheckpointNames? checkpoint)
    {
        if (c.Root["rope_scaling"] is not null) throw c.Invalid("rope_scaling", "scaled RoPE is not supported for llama_enc (the published checkpoints have none)");
        int hidden = c.Int("hidden_size", 4096), heads = c.Int("num_attention_heads", 32);
        int headDim = c.IntOrNull("head_dim") ?? c.HeadDim(hidden, heads);
        bool attentionBias = c.Bool("attention_bias", false), mlpBias = c.Bool("mlp_bias", false);
        bool tied = c.Bool("tie_word_embeddings", false);
        bool architectureMlm = c.Strings("architectures").Any(a => a.EndsWith("ForMaskedLM", StringComparison.Ordinal));
        bool mlm = checkpoint is null ? architectureMlm : checkpoint.HasHead("lm_head.weight") || tied && architectureMlm;

        return new EncoderSpec(
            c.Int("num_hidden_layers", 32), hidden,
            new EmbeddingSpec(c.Int("vocab_size", 32000), MaxPositions: 0, TypeVocabSize: 0, Norm: false, c.IntOrNull("pad_token_id")),
            new AttentionSpec(heads, c.Int("num_key_value_heads", heads), headDim, QkvBias: attentionBias, OutputBias: attentionBias),
            new MlpSpec(c.Int("intermediate_size", 11008), c.Activation("hidden_act", "silu"),
                Gated: true, InputBias: mlpBias, OutputBias: mlpBias),
            new NormSpec(NormKind.RmsNorm, c.Double("rms_norm_eps", 1e-6), Bias: false),
            new NormPlacement(PreNorm: true, FirstLayerAttentionNorm: true, FinalNorm: true),
            new RopeSpec(c.Double("rope_theta", 10_000), LocalBase: null, Fraction: 1.0, Interleaved: false, c.Int("max_position_embeddings", 2048)),
            new HeadsSpec(mlm ? [new MlmHeadSpec(Transform: null, TiedDecoder: tied, DecoderBias: false)] : []),
            // Llama applies dropout only to the attention probabilities.
            DropoutSpec.None with { AttentionProbabilities = c.Double("attention_dropout", 0) })
            .Validated(c.File);
    }

    public WeightMap Weights(EncoderSpec spec) => new WeightMap(BasePrefix)
        .Base("embeddings.word", "embed_tokens.weight")
        .Base("layers.{i}.attention_norm.weight", "layers.{i}.input_layernorm.weight")
        .Base("layers.{i}.attention.qkv.weight", "layers.{i}.self_attn.q_proj.weight", "layers.{i}.self_attn.k_proj.weight", "layers.{i}.self_attn.v_proj.weight")
        .Base("layers.{i}.attention.qkv.bias", "layers.{i}.self_attn.q_proj.bias", "layers.{i}.self_attn.k_proj.bias", "layers.{i}.self_attn.v_proj.bias")
        .Base("layers.{i}.attention.output.weight", "layers.{i}.self_attn.o_proj.weight")
        .Base("layers.{i}.attention.output.bias", "layers.{i}.self_attn.o_proj.bias")
        .Base("layers.{i}.mlp_norm.weight", "layers.{i}.post_attention_layernorm.weight")
        .Base("layers.{i}.mlp.input.weight", "layers.{i}.mlp.gate_proj.weight", "layers.{i}.mlp.up_proj.weight")
        .Base("layers.{i}.mlp.input.bias", "layers.{i}.mlp.gate_proj.bias", "layers.{i}.mlp.up_proj.bias")
        .Base("layers.{i}.mlp.output.weight", "layers.{i}.mlp.down_proj.weight")
        .Base("layers.{i}.mlp.output.bias", "layers.{i}.mlp.down_proj.bias")
        .Base("final_norm.weight", "norm.weight")
        .Head("mlm.decoder", "lm_head.weight");

    /// <summary>LlamaPreTrainedModel._init_weights: Linear and Embedding normal(0, initializer_range), a padding row (pad_token_id) zero, biases zero, RMSNorms one.</summary>
    public InitRules Init(ConfigJson config, EncoderSpec spec) =>
        new(config.Double("initializer_range", 0.02)) { ZeroRow = spec.Embeddings.PadTokenId is int pad ? ("embeddings.word", pad) : null };
}
