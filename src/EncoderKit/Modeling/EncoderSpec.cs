using EncoderKit.Modeling.Heads;

namespace EncoderKit.Modeling;

/// <summary>
/// Everything that makes one encoder family differ from another, as data. One set of blocks reads this;
/// no block ever asks which family it belongs to.
/// </summary>
public sealed record EncoderSpec(
    int Layers,
    int Hidden,
    EmbeddingSpec Embeddings,
    AttentionSpec Attention,
    MlpSpec Mlp,
    NormSpec Norm,
    NormPlacement Placement,
    RopeSpec? Rope,        // null: learned absolute positions (Embeddings.MaxPositions)
    HeadsSpec Heads,
    DropoutSpec Dropout)
{
    /// <summary>Throws <see cref="EncoderKitException"/> when the numbers cannot describe a working model.</summary>
    public EncoderSpec Validated(string configFile)
    {
        void Require(bool ok, string field, string problem)
        {
            if (!ok) throw new EncoderKitException(ErrorKind.BadConfig, problem, configFile, field);
        }
        Require(Layers > 0, "num_hidden_layers", $"must be positive, got {Layers}");
        Require(Hidden > 0, "hidden_size", $"must be positive, got {Hidden}");
        Require(Attention.Heads > 0 && Attention.KvHeads > 0, "num_attention_heads", "head counts must be positive");
        Require(Attention.Heads % Attention.KvHeads == 0, "num_key_value_heads",
            $"{Attention.Heads} attention heads cannot be grouped over {Attention.KvHeads} key/value heads");
        Require(Attention.HeadDim > 0, "hidden_size", "head dimension must be positive");
        Require(Embeddings.VocabSize > 0, "vocab_size", $"must be positive, got {Embeddings.VocabSize}");
        Require(Mlp.Intermediate > 0, "intermediate_size", $"must be positive, got {Mlp.Intermediate}");
        Require(Rope is not null || Embeddings.MaxPositions > 0, "max_position_embeddings",
            "a model without rotary positions needs learned position embeddings");
        Require(Embeddings.Positions != PositionIds.AfterPadding || Embeddings.PadTokenId is not null, "pad_token_id",
            "positions counted after the padding id need a padding id");
        double[] rates = [Dropout.Embedding, Dropout.AttentionProbabilities, Dropout.AttentionOutput, Dropout.MlpInner, Dropout.MlpOutput, Dropout.Classifier];
        Require(rates.All(p => p >= 0 && p < 1), "dropout", $"every dropout probability must be in [0, 1), got {Dropout}");
        if (Rope is not null)
            Require(Rope.RotaryDim(Attention.HeadDim) % 2 == 0 && Rope.RotaryDim(Attention.HeadDim) > 0,
                "rotary_emb_fraction", "the rotary part of a head must be a positive even number of dimensions");
        return this;
    }

    /// <summary>The longest input the model was built for, or null when nothing in the config limits it.</summary>
    public int? MaxPositions => Embeddings.MaxPositions > 0 ? Embeddings.MaxPositions : Rope?.MaxPositions;
}

/// <param name="MaxPositions">Rows of the learned absolute position table; 0 when positions are rotary.</param>
/// <param name="TypeVocabSize">Rows of the token-type table; 0 when the family has no token types.</param>
/// <param name="Norm">Whether a norm follows the summed embeddings.</param>
/// <param name="Positions">How learned position ids are numbered; ignored with rotary positions.</param>
public sealed record EmbeddingSpec(int VocabSize, int MaxPositions, int TypeVocabSize, bool Norm, int? PadTokenId, PositionIds Positions = PositionIds.Sequential);

public enum PositionIds
{
    /// <summary>0 .. L-1 in every row (BERT).</summary>
    Sequential,
    /// <summary>
    /// RoBERTa's numbering: the i-th non-padding token of a row gets pad_token_id + i (i from 1), padding tokens get
    /// pad_token_id, so the table's first pad_token_id + 1 rows are never read by real tokens.
    /// </summary>
    AfterPadding,
}

/// <param name="LocalWindow">Total width of the sliding window (tokens see |i - j| &lt;= LocalWindow / 2) on local layers; null: every layer global.</param>
/// <param name="GlobalEveryNLayers">Layer i is global when i % N == 0 (ModernBERT's rule); ignored without a window.</param>
public sealed record AttentionSpec(int Heads, int KvHeads, int HeadDim, bool QkvBias, bool OutputBias, int? LocalWindow = null, int GlobalEveryNLayers = 1)
{
    public bool IsGlobal(int layer) => LocalWindow is null || layer % GlobalEveryNLayers == 0;

    /// <summary>Rows of the fused projection: queries, then keys, then values.</summary>
    public int QkvRows => (Heads + 2 * KvHeads) * HeadDim;
}

/// <summary>Sigmoid only appears as a gate (NomicBERT's "glu": fc11(x) * sigmoid(fc12(x))); tanh in classifier transforms (RoBERTa's).</summary>
public enum Activation { Gelu, GeluTanh, Silu, Relu, Sigmoid, Tanh }

/// <param name="Gated">Gated (GLU) MLP: the input projection holds the activated half first, then the linear half, and the block computes act(first) * second.</param>
public sealed record MlpSpec(int Intermediate, Activation Activation, bool Gated, bool InputBias, bool OutputBias);

public enum NormKind { LayerNorm, RmsNorm }

public sealed record NormSpec(NormKind Kind, double Eps, bool Bias);

/// <param name="PreNorm">Norm before each sub-block (x + f(norm(x))) rather than after (norm(x + f(x))).</param>
/// <param name="FirstLayerAttentionNorm">Pre-norm only: whether layer 0 normalises before attention (ModernBERT does not: its embeddings end in a norm).</param>
/// <param name="FinalNorm">A norm after the last layer.</param>
public sealed record NormPlacement(bool PreNorm, bool FirstLayerAttentionNorm, bool FinalNorm);

/// <param name="Base">Frequency base on global layers.</param>
/// <param name="LocalBase">Frequency base on sliding-window layers, when it differs.</param>
/// <param name="Fraction">Share of each head's dimensions that rotate.</param>
/// <param name="Interleaved">Pairs (2i, 2i+1) rotate together (GPT-J layout); otherwise (i, i + d/2) (rotate-half, GPT-NeoX layout).</param>
/// <param name="MaxPositions">The longest input the model was built for, when the config says.</param>
/// <param name="DynamicNtk">NomicBERT's scaling for inputs beyond the trained length: the base grows with the padded length.</param>
public sealed record RopeSpec(double Base, double? LocalBase, double Fraction, bool Interleaved, int? MaxPositions, DynamicNtkSpec? DynamicNtk = null)
{
    public int RotaryDim(int headDim) => (int)(headDim * Fraction);
}

/// <summary>Dynamic NTK: for a padded length L &gt; <paramref name="TrainedPositions"/>, base × (Factor × L / TrainedPositions − (Factor − 1))^(d / (d − 2)).</summary>
public sealed record DynamicNtkSpec(double Factor, int TrainedPositions);

/// <summary>The heads a checkpoint carries on top of the encoder, in the order they are built and run.</summary>
public sealed record HeadsSpec(IReadOnlyList<HeadSpec> All)
{
    public static HeadsSpec None { get; } = new([]);

    /// <summary>The head of type <typeparamref name="T"/>, or null when the checkpoint has none.</summary>
    public T? Get<T>() where T : HeadSpec => All.OfType<T>().FirstOrDefault();

    /// <summary>The masked-language-model head, when there is one.</summary>
    public MlmHeadSpec? Mlm => Get<MlmHeadSpec>();

    public override string ToString() => $"HeadsSpec {{ {string.Join(", ", All)} }}";
}

/// <summary>
/// Dropout probabilities, each applied only in training mode and only where the family's reference applies it;
/// 0 where the reference has no dropout there.
/// </summary>
/// <param name="Embedding">On the embeddings' output (after the embedding norm).</param>
/// <param name="AttentionProbabilities">On the attention weights, inside scaled_dot_product_attention.</param>
/// <param name="AttentionOutput">On the attention block's output projection, before the residual.</param>
/// <param name="MlpInner">On the MLP's activated (gated) inner features, before its output projection (ModernBERT).</param>
/// <param name="MlpOutput">On the MLP's output projection, before the residual.</param>
/// <param name="Classifier">On a classifier's input features, right before its output projection.</param>
public sealed record DropoutSpec(double Embedding, double AttentionProbabilities, double AttentionOutput, double MlpInner, double MlpOutput, double Classifier)
{
    public static DropoutSpec None { get; } = new(0, 0, 0, 0, 0, 0);
}
