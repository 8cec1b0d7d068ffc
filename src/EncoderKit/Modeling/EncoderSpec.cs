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
    HeadsSpec Heads)
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
public sealed record EmbeddingSpec(int VocabSize, int MaxPositions, int TypeVocabSize, bool Norm, int? PadTokenId);

/// <param name="LocalWindow">Total width of the sliding window (tokens see |i - j| &lt;= LocalWindow / 2) on local layers; null: every layer global.</param>
/// <param name="GlobalEveryNLayers">Layer i is global when i % N == 0 (ModernBERT's rule); ignored without a window.</param>
public sealed record AttentionSpec(int Heads, int KvHeads, int HeadDim, bool QkvBias, bool OutputBias, int? LocalWindow = null, int GlobalEveryNLayers = 1)
{
    public bool IsGlobal(int layer) => LocalWindow is null || layer % GlobalEveryNLayers == 0;

    /// <summary>Rows of the fused projection: queries, then keys, then values.</summary>
    public int QkvRows => (Heads + 2 * KvHeads) * HeadDim;
}

/// <summary>Sigmoid only appears as a gate (NomicBERT's "glu": fc11(x) * sigmoid(fc12(x))).</summary>
public enum Activation { Gelu, GeluTanh, Silu, Relu, Sigmoid }

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

/// <summary>The heads a checkpoint carries on top of the encoder.</summary>
public sealed record HeadsSpec(MlmHeadSpec? Mlm, bool Pooler, int? NspClasses, ClassifierSpec? Classifier);

/// <param name="Transform">Dense + activation + norm before the decoder (BERT's cls.predictions.transform); null: decoder reads the hidden states directly.</param>
/// <param name="TiedDecoder">The decoder weight is the word-embedding matrix.</param>
public sealed record MlmHeadSpec(MlmTransformSpec? Transform, bool TiedDecoder, bool DecoderBias);

public sealed record MlmTransformSpec(Activation Activation, NormSpec Norm, bool DenseBias);

public enum ClassifierPooling { Cls, Mean, Pooler }

/// <param name="Pooling">Pooler: BERT's tanh pooler output; Cls / Mean: pooled last hidden state then <paramref name="Transform"/>.</param>
/// <param name="Transform">ModernBERT's head (dense, activation, norm) between pooling and the classifier; null for BERT.</param>
public sealed record ClassifierSpec(int Labels, ClassifierPooling Pooling, MlmTransformSpec? Transform, bool Bias, IReadOnlyList<string> LabelNames);
