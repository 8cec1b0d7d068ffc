using System.Text.Json.Nodes;
using EncoderKit.IO;
using EncoderKit.Modeling.Blocks;
using EncoderKit.Modeling.Heads;

namespace EncoderKit.Modeling.Families;

/// <summary>
/// ModernBERT (answerdotai/ModernBERT-base, nomic-ai/modernbert-embed-base), as transformers' ModernBertModel
/// computes it (eager / sdpa path): token embeddings then a norm, pre-norm blocks whose layer 0 has no attention
/// norm, LayerNorms without bias (norm_bias), fused Wqkv, GeGLU with both halves in Wi, layer i global when
/// i % global_attn_every_n_layers == 0 and otherwise a sliding window |i - j| &lt;= local_attention / 2, rotary
/// base global_rope_theta on global layers and local_rope_theta on local ones, final norm. Heads: the MLM head
/// (dense, activation, norm, decoder tied or not as tie_word_embeddings says); sequence classification and
/// multiple choice (cls or mean pooling per classifier_pooling, then the same dense / activation / norm, then the
/// classifier); token classification and QA (the same head at every position, then the classifier).
/// </summary>
public sealed class ModernBert : IEncoderFamily
{
    public string Name => "modernbert";

    public string BasePrefix => "model.";

    public bool Recognizes(ConfigJson config) => FamilyRecognition.Matches(config, ["modernbert"], "ModernBert");

    public EncoderSpec Spec(ConfigJson c, CheckpointNames? checkpoint)
    {
        int hidden = c.Int("hidden_size", 768), layers = c.Int("num_hidden_layers", 22), heads = c.Int("num_attention_heads", 12);
        int window = c.Int("local_attention", 128), every = c.Int("global_attn_every_n_layers", 3);
        if (every < 1) throw c.Invalid("global_attn_every_n_layers", $"must be at least 1, got {every}");
        CheckLayerTypes(c, layers, every);
        var norm = new NormSpec(NormKind.LayerNorm, c.Double("norm_eps", 1e-5), Bias: c.Bool("norm_bias", false));
        // transformers 5 moved the two bases into rope_parameters; 4.x checkpoints carry them at the top level.
        double globalBase = c.DoubleOrNull("global_rope_theta") ?? RopeTheta(c, "full_attention") ?? 160_000;
        double localBase = c.DoubleOrNull("local_rope_theta") ?? RopeTheta(c, "sliding_attention") ?? globalBase;
        var headTransform = new HeadTransformSpec(
            c.Activation("classifier_activation", "gelu"), norm,
            DenseBias: c.Bool("classifier_bias", false));

        IReadOnlyList<string> architectures = c.Strings("architectures");
        bool Architecture(string suffix) => architectures.Any(a => a.EndsWith(suffix, StringComparison.Ordinal));
        // Every task head keeps its transform under "head." and its output layer under "classifier." (QA too, with two
        // labels); a classifier tensor tells them from the MLM head, and the architecture tells them from each other.
        bool HasClassifier(string suffix) => Architecture(suffix) && (checkpoint?.HasHead("classifier.weight") ?? true);
        bool mlm = checkpoint is null ? Architecture("ForMaskedLM") : checkpoint.HasHead("head.dense.weight") && !checkpoint.HasHead("classifier.weight");
        string pooling = c.StringOrNull("classifier_pooling") ?? "cls";
        ClassifierPooling Pooling() => pooling switch
        {
            "cls" => ClassifierPooling.Cls,
            "mean" => ClassifierPooling.Mean,
            _ => throw c.Invalid("classifier_pooling", $"'{pooling}' is neither 'cls' nor 'mean'"),
        };
        IReadOnlyList<string> labels = c.LabelNames();
        int labelCount = c.IntOrNull("num_labels") ?? labels.Count;
        var headSpecs = new List<HeadSpec>();
        if (mlm) headSpecs.Add(new MlmHeadSpec(headTransform, TiedDecoder: c.Bool("tie_word_embeddings", true), DecoderBias: c.Bool("decoder_bias", true)));
        if (HasClassifier("ForSequenceClassification")) headSpecs.Add(new ClassifierSpec(labelCount, Pooling(), headTransform, Bias: true, labels, c.ProblemType()));
        if (HasClassifier("ForTokenClassification")) headSpecs.Add(new TokenClassifierSpec(labelCount, headTransform, Bias: true, labels));
        if (HasClassifier("ForQuestionAnswering")) headSpecs.Add(new QuestionAnsweringSpec(headTransform, Dropout: true));
        if (HasClassifier("ForMultipleChoice")) headSpecs.Add(new MultipleChoiceSpec(Pooling(), headTransform));
        // Where ModernBERT's dropouts sit: after the embedding norm; on the attention probabilities and (out_drop,
        // the same rate) on the attention output; on the gated features before Wo; between the head and the classifier.
        double attentionDropout = c.Double("attention_dropout", 0);
        var dropout = new DropoutSpec(Embedding: c.Double("embedding_dropout", 0), AttentionProbabilities: attentionDropout,
            AttentionOutput: attentionDropout, MlpInner: c.Double("mlp_dropout", 0), MlpOutput: 0, Classifier: c.Double("classifier_dropout", 0));

        return new EncoderSpec(
            layers, hidden,
            new EmbeddingSpec(c.Int("vocab_size", 50368), MaxPositions: 0, TypeVocabSize: 0, Norm: true, c.IntOrNull("pad_token_id")),
            new AttentionSpec(heads, heads, c.HeadDim(hidden, heads), QkvBias: c.Bool("attention_bias", false), OutputBias: c.Bool("attention_bias", false),
                LocalWindow: window, GlobalEveryNLayers: every),
            new MlpSpec(c.Int("intermediate_size", 1152), c.Activation("hidden_activation", "gelu"),
                Gated: true, InputBias: c.Bool("mlp_bias", false), OutputBias: c.Bool("mlp_bias", false)),
            norm,
            new NormPlacement(PreNorm: true, FirstLayerAttentionNorm: false, FinalNorm: true),
            new RopeSpec(globalBase, localBase, Fraction: 1.0, Interleaved: false, MaxPositions: c.Int("max_position_embeddings", 8192)),
            new HeadsSpec(headSpecs),
            dropout).Validated(c.File);
    }

    public WeightMap Weights(EncoderSpec spec) => TaskHeadModules.Aggregate(new WeightMap(BasePrefix)
        .Base("embeddings.word", "embeddings.tok_embeddings.weight")
        .Base("embeddings.norm.weight", "embeddings.norm.weight")
        .Base("embeddings.norm.bias", "embeddings.norm.bias")
        .Base("layers.{i}.attention_norm.weight", "layers.{i}.attn_norm.weight")
        .Base("layers.{i}.attention_norm.bias", "layers.{i}.attn_norm.bias")
        .Base("layers.{i}.attention.qkv.weight", "layers.{i}.attn.Wqkv.weight")
        .Base("layers.{i}.attention.qkv.bias", "layers.{i}.attn.Wqkv.bias")
        .Base("layers.{i}.attention.output.weight", "layers.{i}.attn.Wo.weight")
        .Base("layers.{i}.attention.output.bias", "layers.{i}.attn.Wo.bias")
        .Base("layers.{i}.mlp_norm.weight", "layers.{i}.mlp_norm.weight")
        .Base("layers.{i}.mlp_norm.bias", "layers.{i}.mlp_norm.bias")
        // Wi holds [input; gate] and the block computes act(input) * gate: already activated half first.
        .Base("layers.{i}.mlp.input.weight", "layers.{i}.mlp.Wi.weight")
        .Base("layers.{i}.mlp.input.bias", "layers.{i}.mlp.Wi.bias")
        .Base("layers.{i}.mlp.output.weight", "layers.{i}.mlp.Wo.weight")
        .Base("layers.{i}.mlp.output.bias", "layers.{i}.mlp.Wo.bias")
        .Base("final_norm.weight", "final_norm.weight")
        .Base("final_norm.bias", "final_norm.bias")
        .Head("mlm.transform.dense.weight", "head.dense.weight")
        .Head("mlm.transform.dense.bias", "head.dense.bias")
        .Head("mlm.transform.norm.weight", "head.norm.weight")
        .Head("mlm.transform.norm.bias", "head.norm.bias")
        .Head("mlm.decoder", "decoder.weight")
        .Head("mlm.decoder_bias", "decoder.bias")
        // With a tied decoder transformers ignores a stored decoder weight; so do we.
        .Ignore(spec.Heads.Mlm is { TiedDecoder: true } ? @"decoder\.weight" : "(?!)"), TaskHead);

    // Every task head is stored as "head." (its transform) and "classifier." (its output layer), whichever task it is.
    static readonly string[] TaskHeadModules = ["classifier", "token_classifier", "qa", "choice"];

    static WeightMap TaskHead(WeightMap map, string module) => map
        .Head(module + ".transform.dense.weight", "head.dense.weight")
        .Head(module + ".transform.dense.bias", "head.dense.bias")
        .Head(module + ".transform.norm.weight", "head.norm.weight")
        .Head(module + ".transform.norm.bias", "head.norm.bias")
        .Head(module + ".output.weight", "classifier.weight")
        .Head(module + ".output.bias", "classifier.bias");

    /// <summary>
    /// ModernBertPreTrainedModel._init_weights: every Linear and the token embeddings truncated normal at ±
    /// initializer_cutoff_factor stds (3 when the config sets it null); std initializer_range for the embeddings, Wqkv
    /// and Wi; initializer_range / √(2 × layers) for both Wo, the head's dense and the decoder; hidden_size^-½ for
    /// every task head's classifier (sequence, token, QA, multiple choice). Biases zero, norms one, and the padding
    /// row is drawn like the rest (the truncated normal overwrites what nn.Embedding zeroed).
    /// </summary>
    public InitRules Init(ConfigJson c, EncoderSpec spec)
    {
        double range = c.Double("initializer_range", 0.02);
        double cutoff = c.Root.ContainsKey("initializer_cutoff_factor") ? c.DoubleOrNull("initializer_cutoff_factor") ?? 3 : 2;
        double output = range / Math.Sqrt(2.0 * spec.Layers);
        return new InitRules(range)
        {
            CutoffStds = cutoff,
            StdOverrides =
            [
                ("layers.{i}.attention.output.weight", output),
                ("layers.{i}.mlp.output.weight", output),
                ("mlm.transform.dense.weight", output),
                ("mlm.decoder", output),
                .. TaskHeadModules.SelectMany(m => new[] { (m + ".transform.dense.weight", output), (m + ".output.weight", 1 / Math.Sqrt(spec.Hidden)) }),
            ],
        };
    }

    static double? RopeTheta(ConfigJson c, string layerType) =>
        c.Root["rope_parameters"] is JsonObject p && p[layerType] is JsonObject o && o["rope_theta"] is JsonValue v && v.TryGetValue(out double theta)
            ? theta : null;

    // transformers 5 writes layer_types; the blocks know only "global every N layers", so refuse any other pattern.
    static void CheckLayerTypes(ConfigJson c, int layers, int every)
    {
        IReadOnlyList<string> types = c.Strings("layer_types");
        if (types.Count == 0) return;
        for (int i = 0; i < types.Count; i++)
        {
            string expected = i % every == 0 ? "full_attention" : "sliding_attention";
            if (types.Count != layers || types[i] != expected)
                throw c.Invalid("layer_types", $"layer {i} is '{types[i]}', but only the pattern of global_attn_every_n_layers = {every} is supported");
        }
    }
}
