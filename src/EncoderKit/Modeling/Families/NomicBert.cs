using EncoderKit.IO;
using EncoderKit.Modeling.Blocks;
using EncoderKit.Modeling.Heads;

namespace EncoderKit.Modeling.Families;

/// <summary>
/// NomicBERT (nomic-ai/nomic-bert-2048, nomic-embed-text), as its remote code modeling_hf_nomic_bert.py computes
/// it: post-LayerNorm blocks, fused Wqkv, rotary positions (rotate-half unless rotary_emb_interleaved; with
/// rotary_scaling_factor, dynamic NTK: the base grows with the padded length beyond max_trained_positions),
/// token types, SwiGLU as fc2(fc11(x) * silu(fc12(x))), MLM transform with SiLU for swiglu models and a decoder
/// tied to the word embeddings. The vocabulary is padded up to pad_vocab_size_multiple, as the checkpoint is.
/// </summary>
public sealed class NomicBert : IEncoderFamily
{
    public string Name => "nomic_bert";

    public string BasePrefix => "bert.";

    public bool Recognizes(ConfigJson config) => FamilyRecognition.Matches(config, ["nomic_bert"], "NomicBert", "modeling_hf_nomic_bert");

    public EncoderSpec Spec(ConfigJson c, CheckpointNames? checkpoint)
    {
        // Variants the remote code has but no published text checkpoint uses; refused rather than half-supported.
        if (c.Bool("prenorm", false)) throw c.Invalid("prenorm", "pre-norm NomicBERT is not supported");
        if (c.Bool("causal", false)) throw c.Invalid("causal", "a causal NomicBERT is not an encoder");
        if (c.DoubleOrNull("rotary_emb_scale_base") is not null) throw c.Invalid("rotary_emb_scale_base", "XPos rotary scaling is not supported");
        if (c.Int("moe_every_n_layers", 0) > 0) throw c.Invalid("moe_every_n_layers", "mixture-of-experts layers are not supported");
        if (c.Bool("norm_mlp", false)) throw c.Invalid("norm_mlp", "a norm inside the MLP is not supported");

        int hidden = c.IntOrNull("n_embd") ?? c.Int("hidden_size", 768);
        int heads = c.IntOrNull("n_head") ?? c.Int("num_attention_heads", 12);
        int layers = c.IntOrNull("n_layer") ?? c.Int("num_hidden_layers", 12);
        int multiple = Math.Max(1, c.Int("pad_vocab_size_multiple", 1));
        int vocab = (c.Int("vocab_size", 50257) + multiple - 1) / multiple * multiple;
        double eps = c.Double("layer_norm_epsilon", 1e-5);
        string function = c.StringOrNull("activation_function") ?? "gelu_new";
        (bool gated, Activation mlpAct, Activation headAct) = function switch
        {
            "swiglu" => (true, Activation.Silu, Activation.Silu),
            "geglu" => (true, Activation.Gelu, Activation.Gelu),
            "glu" => (true, Activation.Sigmoid, Activation.Gelu),
            // The reference's plain MLP compares a function with "gelu", so every GELU variant runs exact (erf) GELU
            // there; only the MLM transform honours the tanh approximation.
            "gelu" => (false, Activation.Gelu, Activation.Gelu),
            "gelu_new" or "gelu_fast" or "gelu_pytorch_tanh" => (false, Activation.Gelu, Activation.GeluTanh),
            _ => throw c.Invalid("activation_function", $"'{function}' is not one NomicBERT has (swiglu, geglu, glu, gelu, gelu_new, gelu_fast, gelu_pytorch_tanh)"),
        };
        // n_inner unset: 4 × hidden, or for gated MLPs 8/3 × hidden rounded up to a multiple of 256.
        int intermediate = c.IntOrNull("n_inner") ?? (gated ? ((int)(8.0 * hidden / 3) + 255) / 256 * 256 : 4 * hidden);
        bool fc1Bias = c.Bool("mlp_fc1_bias", true), qkvBias = c.Bool("qkv_proj_bias", true);

        double fraction = c.Double("rotary_emb_fraction", 0.0);
        RopeSpec? rope = fraction > 0
            ? new RopeSpec(c.Double("rotary_emb_base", 10_000), LocalBase: null, fraction, c.Bool("rotary_emb_interleaved", false),
                MaxPositions: c.IntOrNull("n_positions") ?? c.IntOrNull("max_position_embeddings"),
                DynamicNtk: c.DoubleOrNull("rotary_scaling_factor") is { } f && f != 0 ? new DynamicNtkSpec(f, c.Int("max_trained_positions", 2048)) : null)
            : null;
        var norm = new NormSpec(NormKind.LayerNorm, eps, Bias: true);

        IReadOnlyList<string> architectures = c.Strings("architectures");
        bool classifier = architectures.Any(a => a.EndsWith("ForSequenceClassification", StringComparison.Ordinal)) && (checkpoint?.HasHead("classifier.weight") ?? true);
        bool mlm = checkpoint?.HasHead("cls.predictions.transform.dense.weight") ?? architectures.Any(a => a.EndsWith("ForPreTraining", StringComparison.Ordinal));
        bool pooler = checkpoint?.HasBase("pooler.dense.weight") ?? (classifier || c.Bool("add_pooling_layer", false));
        IReadOnlyList<string> labels = c.LabelNames();
        var headSpecs = new List<HeadSpec>();
        if (mlm) headSpecs.Add(new MlmHeadSpec(new HeadTransformSpec(headAct, norm, DenseBias: fc1Bias), TiedDecoder: true, DecoderBias: fc1Bias));
        if (pooler) headSpecs.Add(new PoolerSpec());
        if (classifier) headSpecs.Add(new ClassifierSpec(c.IntOrNull("num_labels") ?? labels.Count, ClassifierPooling.Pooler, Transform: null, Bias: true, labels, c.ProblemType()));
        // Where the remote code's dropouts sit: emb_drop after emb_ln (embd_pdrop), dropout_p of
        // scaled_dot_product_attention (attn_pdrop), dropout1 / dropout2 on the attention and MLP outputs before each
        // residual norm (resid_pdrop). NomicBertForSequenceClassification is bert.pooler (tanh(dense(h[:, 0]))), then
        // dropout at getattr(config, "classifier_dropout", config.embd_pdrop), then classifier = Linear(n_embd, num_labels).
        double residual = c.Double("resid_pdrop", 0), embedding = c.Double("embd_pdrop", 0);
        var dropout = new DropoutSpec(Embedding: embedding, AttentionProbabilities: c.Double("attn_pdrop", 0),
            AttentionOutput: residual, MlpInner: 0, MlpOutput: residual, Classifier: c.DoubleOrNull("classifier_dropout") ?? embedding);

        return new EncoderSpec(
            layers, hidden,
            new EmbeddingSpec(vocab, rope is null ? c.IntOrNull("n_positions") ?? c.Int("max_position_embeddings", 1024) : 0,
                c.Int("type_vocab_size", 2), Norm: true, c.IntOrNull("pad_token_id")),
            new AttentionSpec(heads, c.IntOrNull("num_heads_kv") ?? heads, c.HeadDim(hidden, heads), QkvBias: qkvBias, OutputBias: qkvBias),
            new MlpSpec(intermediate, mlpAct, gated, InputBias: fc1Bias, OutputBias: c.Bool("mlp_fc2_bias", true)),
            norm,
            new NormPlacement(PreNorm: false, FirstLayerAttentionNorm: true, FinalNorm: false),
            rope,
            new HeadsSpec(headSpecs),
            dropout).Validated(c.File);
    }

    public WeightMap Weights(EncoderSpec spec)
    {
        var map = new WeightMap(BasePrefix)
            .Base("embeddings.word", "embeddings.word_embeddings.weight")
            .Base("embeddings.position", "embeddings.position_embeddings.weight")
            .Base("embeddings.token_type", "embeddings.token_type_embeddings.weight")
            .Base("embeddings.norm.weight", "emb_ln.weight")
            .Base("embeddings.norm.bias", "emb_ln.bias")
            .Base("layers.{i}.attention.qkv.weight", "encoder.layers.{i}.attn.Wqkv.weight")
            .Base("layers.{i}.attention.qkv.bias", "encoder.layers.{i}.attn.Wqkv.bias")
            .Base("layers.{i}.attention.output.weight", "encoder.layers.{i}.attn.out_proj.weight")
            .Base("layers.{i}.attention.output.bias", "encoder.layers.{i}.attn.out_proj.bias")
            .Base("layers.{i}.attention_norm.weight", "encoder.layers.{i}.norm1.weight")
            .Base("layers.{i}.attention_norm.bias", "encoder.layers.{i}.norm1.bias")
            .Base("layers.{i}.mlp.output.weight", "encoder.layers.{i}.mlp.fc2.weight")
            .Base("layers.{i}.mlp.output.bias", "encoder.layers.{i}.mlp.fc2.bias")
            .Base("layers.{i}.mlp_norm.weight", "encoder.layers.{i}.norm2.weight")
            .Base("layers.{i}.mlp_norm.bias", "encoder.layers.{i}.norm2.bias")
            .Base("pooler.dense.weight", "pooler.dense.weight")
            .Base("pooler.dense.bias", "pooler.dense.bias")
            .Head("mlm.transform.dense.weight", "cls.predictions.transform.dense.weight")
            .Head("mlm.transform.dense.bias", "cls.predictions.transform.dense.bias")
            .Head("mlm.transform.norm.weight", "cls.predictions.transform.layer_norm.weight")
            .Head("mlm.transform.norm.bias", "cls.predictions.transform.layer_norm.bias")
            .Head("mlm.decoder_bias", "cls.predictions.decoder.bias")
            .Head("classifier.output.weight", "classifier.weight")
            .Head("classifier.output.bias", "classifier.bias")
            // The decoder is always tied to the word embeddings (tie_weights); a stored copy is ignored, as there.
            .Ignore(@"cls\.predictions\.decoder\.weight");
        // Gated: fc11 is the linear half and fc12 the activated one (y = fc11(x) * act(fc12(x))), so the activated
        // half, which the block expects first, is fc12.
        return spec.Mlp.Gated
            ? map.Base("layers.{i}.mlp.input.weight", "encoder.layers.{i}.mlp.fc12.weight", "encoder.layers.{i}.mlp.fc11.weight")
                 .Base("layers.{i}.mlp.input.bias", "encoder.layers.{i}.mlp.fc12.bias", "encoder.layers.{i}.mlp.fc11.bias")
            : map.Base("layers.{i}.mlp.input.weight", "encoder.layers.{i}.mlp.fc1.weight")
                 .Base("layers.{i}.mlp.input.bias", "encoder.layers.{i}.mlp.fc1.bias");
    }

    /// <summary>The remote code's _init_weights: Linear and Embedding normal(0, initializer_range), a padding row (when the config names one) zero, biases zero, LayerNorms one.</summary>
    public InitRules Init(ConfigJson config, EncoderSpec spec) =>
        new(config.Double("initializer_range", 0.02)) { ZeroRow = spec.Embeddings.PadTokenId is int pad ? ("embeddings.word", pad) : null };
}
