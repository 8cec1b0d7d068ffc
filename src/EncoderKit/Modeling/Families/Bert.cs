using EncoderKit.IO;
using EncoderKit.Modeling.Blocks;
using EncoderKit.Modeling.Heads;

namespace EncoderKit.Modeling.Families;

/// <summary>
/// BERT (bert-base-cased and its kin), as transformers' BertModel computes it: learned absolute positions and
/// token types, post-LayerNorm blocks, exact GELU, tanh pooler, MLM transform with a decoder tied to the word
/// embeddings, NSP head; task heads for sequence and token classification, extractive QA and multiple choice.
/// </summary>
public sealed class Bert : IEncoderFamily
{
    public string Name => "bert";

    public string BasePrefix => "bert.";

    public bool Recognizes(ConfigJson config) => config.StringOrNull("model_type") == "bert";

    public EncoderSpec Spec(ConfigJson config, CheckpointNames? checkpoint)
    {
        var c = BertConfig.Read(config);
        if (c.PositionEmbeddingType != "absolute")
            throw config.Invalid("position_embedding_type", $"'{c.PositionEmbeddingType}' positions are not supported (only 'absolute')");
        var norm = new NormSpec(NormKind.LayerNorm, c.LayerNormEps, Bias: true);
        Activation act = c.HiddenAct;
        bool Architecture(string suffix) => c.Architectures.Any(a => a.EndsWith(suffix, StringComparison.Ordinal));

        bool mlm = checkpoint?.HasHead("cls.predictions.bias") ?? (Architecture("ForMaskedLM") || Architecture("ForPreTraining"));
        bool nsp = checkpoint?.HasHead("cls.seq_relationship.weight") ?? (Architecture("ForPreTraining") || Architecture("ForNextSentencePrediction"));
        // Sequence classification, token classification and multiple choice all store "classifier.*": the
        // architecture says which one it is.
        bool classifier = Architecture("ForSequenceClassification") && (checkpoint?.HasHead("classifier.weight") ?? true);
        bool tokens = Architecture("ForTokenClassification") && (checkpoint?.HasHead("classifier.weight") ?? true);
        bool choice = Architecture("ForMultipleChoice") && (checkpoint?.HasHead("classifier.weight") ?? true);
        bool spans = checkpoint?.HasHead("qa_outputs.weight") ?? Architecture("ForQuestionAnswering");
        bool pooler = checkpoint?.HasBase("pooler.dense.weight") ?? (nsp || classifier || choice || c.Architectures.Count == 0 || Architecture("Model"));

        var heads = new List<HeadSpec>();
        if (mlm) heads.Add(new MlmHeadSpec(new HeadTransformSpec(act, norm, DenseBias: true), c.TieWordEmbeddings, DecoderBias: true));
        if (pooler) heads.Add(new PoolerSpec());
        if (nsp) heads.Add(new NspHeadSpec(Classes: 2));
        if (classifier) heads.Add(new ClassifierSpec(c.NumLabels, ClassifierPooling.Pooler, Transform: null, Bias: true, c.LabelNames, config.ProblemType()));
        if (tokens) heads.Add(new TokenClassifierSpec(c.NumLabels, Transform: null, Bias: true, c.LabelNames));
        if (spans) heads.Add(new QuestionAnsweringSpec(Transform: null, Dropout: false));
        if (choice) heads.Add(new MultipleChoiceSpec(ClassifierPooling.Pooler, Transform: null));
        return new EncoderSpec(
            c.NumHiddenLayers, c.HiddenSize,
            new EmbeddingSpec(c.VocabSize, c.MaxPositionEmbeddings, c.TypeVocabSize, Norm: true, c.PadTokenId),
            new AttentionSpec(c.NumAttentionHeads, c.NumAttentionHeads, config.HeadDim(c.HiddenSize, c.NumAttentionHeads), QkvBias: true, OutputBias: true),
            new MlpSpec(c.IntermediateSize, act, Gated: false, InputBias: true, OutputBias: true),
            norm,
            new NormPlacement(PreNorm: false, FirstLayerAttentionNorm: true, FinalNorm: false),
            Rope: null,
            new HeadsSpec(heads),
            // Where BertModel's nn.Dropout modules sit: after the embedding LayerNorm, on the attention probabilities,
            // on each sub-block's output dense before its residual LayerNorm, and on the classifier's input.
            new DropoutSpec(Embedding: c.HiddenDropoutProb, AttentionProbabilities: c.AttentionProbsDropoutProb, AttentionOutput: c.HiddenDropoutProb,
                MlpInner: 0, MlpOutput: c.HiddenDropoutProb, Classifier: c.ClassifierDropout ?? c.HiddenDropoutProb)).Validated(config.File);
    }

    public WeightMap Weights(EncoderSpec spec) => new WeightMap(BasePrefix)
        .Base("embeddings.word", "embeddings.word_embeddings.weight")
        .Base("embeddings.position", "embeddings.position_embeddings.weight")
        .Base("embeddings.token_type", "embeddings.token_type_embeddings.weight")
        .Base("embeddings.norm.weight", "embeddings.LayerNorm.weight")
        .Base("embeddings.norm.bias", "embeddings.LayerNorm.bias")
        .Base("layers.{i}.attention.qkv.weight", "encoder.layer.{i}.attention.self.query.weight", "encoder.layer.{i}.attention.self.key.weight", "encoder.layer.{i}.attention.self.value.weight")
        .Base("layers.{i}.attention.qkv.bias", "encoder.layer.{i}.attention.self.query.bias", "encoder.layer.{i}.attention.self.key.bias", "encoder.layer.{i}.attention.self.value.bias")
        .Base("layers.{i}.attention.output.weight", "encoder.layer.{i}.attention.output.dense.weight")
        .Base("layers.{i}.attention.output.bias", "encoder.layer.{i}.attention.output.dense.bias")
        .Base("layers.{i}.attention_norm.weight", "encoder.layer.{i}.attention.output.LayerNorm.weight")
        .Base("layers.{i}.attention_norm.bias", "encoder.layer.{i}.attention.output.LayerNorm.bias")
        .Base("layers.{i}.mlp.input.weight", "encoder.layer.{i}.intermediate.dense.weight")
        .Base("layers.{i}.mlp.input.bias", "encoder.layer.{i}.intermediate.dense.bias")
        .Base("layers.{i}.mlp.output.weight", "encoder.layer.{i}.output.dense.weight")
        .Base("layers.{i}.mlp.output.bias", "encoder.layer.{i}.output.dense.bias")
        .Base("layers.{i}.mlp_norm.weight", "encoder.layer.{i}.output.LayerNorm.weight")
        .Base("layers.{i}.mlp_norm.bias", "encoder.layer.{i}.output.LayerNorm.bias")
        .Base("pooler.dense.weight", "pooler.dense.weight")
        .Base("pooler.dense.bias", "pooler.dense.bias")
        .Head("mlm.transform.dense.weight", "cls.predictions.transform.dense.weight")
        .Head("mlm.transform.dense.bias", "cls.predictions.transform.dense.bias")
        .Head("mlm.transform.norm.weight", "cls.predictions.transform.LayerNorm.weight")
        .Head("mlm.transform.norm.bias", "cls.predictions.transform.LayerNorm.bias")
        .Head("mlm.decoder", "cls.predictions.decoder.weight")
        .Head("mlm.decoder_bias", "cls.predictions.bias")
        .Head("nsp.output.weight", "cls.seq_relationship.weight")
        .Head("nsp.output.bias", "cls.seq_relationship.bias")
        .BertTaskHeads()
        .Alias("LayerNorm.weight", "LayerNorm.gamma")
        .Alias("LayerNorm.bias", "LayerNorm.beta")
        // Saved by older transformers versions: a buffer of 0..P-1, and the decoder bias's tied twin.
        .Ignore(@"(bert\.)?embeddings\.position_ids")
        .Ignore(@"cls\.predictions\.decoder\.bias")
        // With a tied decoder, transformers ignores a stored decoder weight; so do we.
        .Ignore(spec.Heads.Mlm is { TiedDecoder: true } ? @"cls\.predictions\.decoder\.weight" : "(?!)");

    /// <summary>BertPreTrainedModel._init_weights: Linear and Embedding normal(0, initializer_range), the word embeddings' padding row zero, biases zero, LayerNorms one.</summary>
    public InitRules Init(ConfigJson config, EncoderSpec spec) =>
        new(BertConfig.Read(config).InitializerRange) { ZeroRow = spec.Embeddings.PadTokenId is int pad ? ("embeddings.word", pad) : null };
}

/// <summary>config.json of a BERT checkpoint: every key bert-base-cased's config has, unknown keys left in <see cref="ConfigJson.Root"/>.</summary>
public sealed record BertConfig(
    IReadOnlyList<string> Architectures,
    double AttentionProbsDropoutProb,
    double? ClassifierDropout,
    Activation HiddenAct,
    double HiddenDropoutProb,
    int HiddenSize,
    double InitializerRange,
    int IntermediateSize,
    double LayerNormEps,
    int MaxPositionEmbeddings,
    int NumAttentionHeads,
    int NumHiddenLayers,
    int? PadTokenId,
    string PositionEmbeddingType,
    int TypeVocabSize,
    int VocabSize,
    bool TieWordEmbeddings,
    int NumLabels,
    IReadOnlyList<string> LabelNames)
{
    public static BertConfig Read(ConfigJson c)
    {
        IReadOnlyList<string> labels = c.LabelNames();
        return new BertConfig(
            c.Strings("architectures"),
            c.Double("attention_probs_dropout_prob", 0.1),
            c.DoubleOrNull("classifier_dropout"),
            c.Activation("hidden_act", "gelu"),
            c.Double("hidden_dropout_prob", 0.1),
            c.Int("hidden_size", 768),
            c.Double("initializer_range", 0.02),
            c.Int("intermediate_size", 3072),
            c.Double("layer_norm_eps", 1e-12),
            c.Int("max_position_embeddings", 512),
            c.Int("num_attention_heads", 12),
            c.Int("num_hidden_layers", 12),
            c.IntOrNull("pad_token_id") ?? 0,
            c.StringOrNull("position_embedding_type") ?? "absolute",
            c.Int("type_vocab_size", 2),
            c.Int("vocab_size", 30522),
            c.Bool("tie_word_embeddings", true),
            c.IntOrNull("num_labels") ?? labels.Count,
            labels);
    }
}
