using EncoderKit.IO;
using EncoderKit.Modeling.Blocks;
using EncoderKit.Modeling.Heads;

namespace EncoderKit.Modeling.Families;

/// <summary>
/// RetrievaBERT (retrieva-jp/bert-1.3b, model_type retrieva-bert): a Megatron-BERT-derived encoder. Word
/// embeddings only (no positions table, no token types, no embedding norm), pre-LayerNorm blocks, rotary
/// positions on q and k, grouped-query attention, SwiGLU MLP, a final LayerNorm, and BERT's MLM head (dense,
/// exact GELU, LayerNorm, decoder tied to the word embeddings plus a bias).
/// </summary>
/// <remarks>
/// RECONSTRUCTED LAYOUT. The remote code (modeling_retrieva_bert.py) is not published anywhere we can reach; the
/// fixture comes from a reconstruction built from the published config and model card. Assumed, not verified:
/// <list type="bullet">
/// <item>tensor names follow transformers' MegatronBert: bert.embeddings.word_embeddings,
/// bert.encoder.layer.{i}.attention.ln / .attention.self.{query,key,value} / .attention.output.dense, .ln,
/// bert.encoder.ln, cls.predictions.transform.{dense,LayerNorm}, cls.predictions.bias;</item>
/// <item>the SwiGLU names intermediate.gate_proj and intermediate.up_proj with the down projection kept as
/// output.dense, computing output.dense(silu(gate_proj(x)) * up_proj(x)); mlp_bias puts a bias on all three (a
/// real checkpoint may instead say e.g. mlp.gate_proj / up_proj / down_proj);</item>
/// <item>biases on q, k, v and the attention output (as MegatronBert); key and value have
/// num_key_value_heads × head_dim rows, head_dim = hidden_size / num_attention_heads, contiguous query groups;</item>
/// <item>rotate-half RoPE on the first rotary_percent of each head after the projections (bias included),
/// position ids 0..L-1 per row;</item>
/// <item>the decoder weight is not stored (tied); no NSP head; every LayerNorm has weight and bias;</item>
/// <item>task heads copy MegatronBert's: classifier.{weight,bias} for sequence, token and multiple-choice
/// classification, qa_outputs.{weight,bias} [2, H] for QA (start = [..., 0], end = [..., 1]); sequence classification
/// and multiple choice read a pooler bert.pooler.dense + tanh on the first token of the final-LayerNorm output, which
/// token classification and QA do not carry; dropout before the classifier at hidden_dropout_prob (classifier_dropout
/// when set), none before QA;</item>
/// <item>dropout and initialisation as MegatronBert's (hidden_dropout_prob, attention_probs_dropout_prob, both 0.1 by
/// default; normal(0, initializer_range) weights).</item>
/// </list>
/// A real checkpoint whose names or shapes differ does not half-load: the loader lists every tensor the model
/// needs that is missing and every stored tensor nothing asked for, and names the tensor of any shape mismatch.
/// Nothing is ignored for this family, so even a stored tied-decoder copy fails the load, by name.
/// </remarks>
public sealed class RetrievaBert : IEncoderFamily
{
    public string Name => "retrieva-bert";

    public string BasePrefix => "bert.";

    public bool Recognizes(ConfigJson config) => FamilyRecognition.Matches(config, ["retrieva-bert", "retrieva_bert"], "RetrievaBert", "modeling_retrieva_bert");

    public EncoderSpec Spec(ConfigJson c, CheckpointNames? checkpoint)
    {
        string positions = c.StringOrNull("position_embedding_type") ?? "rope";
        if (positions != "rope") throw c.Invalid("position_embedding_type", $"'{positions}' positions are not supported (only 'rope')");
        int hidden = c.Int("hidden_size", 1536), heads = c.Int("num_attention_heads", 24);
        bool mlpBias = c.Bool("mlp_bias", true);
        var norm = new NormSpec(NormKind.LayerNorm, c.Double("layer_norm_eps", 1e-12), Bias: true);
        // MegatronBert's keys and defaults, and its places: after the embeddings, on the attention probabilities, on
        // each sub-block's output before its residual. The published config names no rate, so 0.1 applies (assumed).
        double hiddenDropout = c.Double("hidden_dropout_prob", 0.1);
        IReadOnlyList<string> architectures = c.Strings("architectures");
        bool Architecture(string suffix) => architectures.Any(a => a.EndsWith(suffix, StringComparison.Ordinal));
        bool mlm = checkpoint?.HasHead("cls.predictions.bias") ?? Architecture("ForMaskedLM");
        // As MegatronBert's task classes: sequence, token and multiple-choice classifiers all store "classifier.*",
        // the architecture says which; QA stores "qa_outputs.*". Sequence classification and multiple choice read
        // the pooler, which only they carry (add_pooling_layer).
        bool classifier = Architecture("ForSequenceClassification") && (checkpoint?.HasHead("classifier.weight") ?? true);
        bool tokens = Architecture("ForTokenClassification") && (checkpoint?.HasHead("classifier.weight") ?? true);
        bool choice = Architecture("ForMultipleChoice") && (checkpoint?.HasHead("classifier.weight") ?? true);
        bool spans = checkpoint?.HasHead("qa_outputs.weight") ?? Architecture("ForQuestionAnswering");
        bool pooler = checkpoint?.HasBase("pooler.dense.weight") ?? (classifier || choice);
        IReadOnlyList<string> labels = c.LabelNames();
        int labelCount = c.IntOrNull("num_labels") ?? labels.Count;
        var headSpecs = new List<HeadSpec>();
        if (mlm) headSpecs.Add(new MlmHeadSpec(new HeadTransformSpec(Activation.Gelu, norm, DenseBias: true), TiedDecoder: true, DecoderBias: true));
        if (pooler) headSpecs.Add(new PoolerSpec());
        if (classifier) headSpecs.Add(new ClassifierSpec(labelCount, ClassifierPooling.Pooler, Transform: null, Bias: true, labels, c.ProblemType()));
        if (tokens) headSpecs.Add(new TokenClassifierSpec(labelCount, Transform: null, Bias: true, labels));
        if (spans) headSpecs.Add(new QuestionAnsweringSpec(Transform: null, Dropout: false));
        if (choice) headSpecs.Add(new MultipleChoiceSpec(ClassifierPooling.Pooler, Transform: null));

        return new EncoderSpec(
            c.Int("num_hidden_layers", 48), hidden,
            new EmbeddingSpec(c.Int("vocab_size", 99584), MaxPositions: 0, TypeVocabSize: 0, Norm: false, c.IntOrNull("pad_token_id")),
            new AttentionSpec(heads, c.Int("num_key_value_heads", heads), c.HeadDim(hidden, heads), QkvBias: true, OutputBias: true),
            new MlpSpec(c.Int("intermediate_size", 4096), c.Activation("hidden_act", "silu"),
                Gated: true, InputBias: mlpBias, OutputBias: mlpBias),
            norm,
            new NormPlacement(PreNorm: true, FirstLayerAttentionNorm: true, FinalNorm: true),
            new RopeSpec(c.Double("rope_theta", 10_000), LocalBase: null, c.Double("rotary_percent", 1.0), Interleaved: false, c.Int("max_position_embeddings", 2048)),
            new HeadsSpec(headSpecs),
            new DropoutSpec(Embedding: hiddenDropout, AttentionProbabilities: c.Double("attention_probs_dropout_prob", 0.1), AttentionOutput: hiddenDropout,
                MlpInner: 0, MlpOutput: hiddenDropout, Classifier: c.DoubleOrNull("classifier_dropout") ?? hiddenDropout))
            .Validated(c.File);
    }

    public WeightMap Weights(EncoderSpec spec) => new WeightMap(BasePrefix)
        .Base("embeddings.word", "embeddings.word_embeddings.weight")
        .Base("layers.{i}.attention_norm.weight", "encoder.layer.{i}.attention.ln.weight")
        .Base("layers.{i}.attention_norm.bias", "encoder.layer.{i}.attention.ln.bias")
        .Base("layers.{i}.attention.qkv.weight", "encoder.layer.{i}.attention.self.query.weight", "encoder.layer.{i}.attention.self.key.weight", "encoder.layer.{i}.attention.self.value.weight")
        .Base("layers.{i}.attention.qkv.bias", "encoder.layer.{i}.attention.self.query.bias", "encoder.layer.{i}.attention.self.key.bias", "encoder.layer.{i}.attention.self.value.bias")
        .Base("layers.{i}.attention.output.weight", "encoder.layer.{i}.attention.output.dense.weight")
        .Base("layers.{i}.attention.output.bias", "encoder.layer.{i}.attention.output.dense.bias")
        .Base("layers.{i}.mlp_norm.weight", "encoder.layer.{i}.ln.weight")
        .Base("layers.{i}.mlp_norm.bias", "encoder.layer.{i}.ln.bias")
        .Base("layers.{i}.mlp.input.weight", "encoder.layer.{i}.intermediate.gate_proj.weight", "encoder.layer.{i}.intermediate.up_proj.weight")
        .Base("layers.{i}.mlp.input.bias", "encoder.layer.{i}.intermediate.gate_proj.bias", "encoder.layer.{i}.intermediate.up_proj.bias")
        .Base("layers.{i}.mlp.output.weight", "encoder.layer.{i}.output.dense.weight")
        .Base("layers.{i}.mlp.output.bias", "encoder.layer.{i}.output.dense.bias")
        .Base("final_norm.weight", "encoder.ln.weight")
        .Base("final_norm.bias", "encoder.ln.bias")
        .Head("mlm.transform.dense.weight", "cls.predictions.transform.dense.weight")
        .Head("mlm.transform.dense.bias", "cls.predictions.transform.dense.bias")
        .Head("mlm.transform.norm.weight", "cls.predictions.transform.LayerNorm.weight")
        .Head("mlm.transform.norm.bias", "cls.predictions.transform.LayerNorm.bias")
        .Head("mlm.decoder_bias", "cls.predictions.bias")
        .Base("pooler.dense.weight", "pooler.dense.weight")
        .Base("pooler.dense.bias", "pooler.dense.bias")
        .BertTaskHeads();

    /// <summary>As MegatronBertPreTrainedModel._init_weights (assumed, like the layout): Linear and Embedding normal(0, initializer_range, default 0.02), the padding row zero, biases zero, LayerNorms one.</summary>
    public InitRules Init(ConfigJson config, EncoderSpec spec) =>
        new(config.Double("initializer_range", 0.02)) { ZeroRow = spec.Embeddings.PadTokenId is int pad ? ("embeddings.word", pad) : null };
}
