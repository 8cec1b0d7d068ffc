using EncoderKit.IO;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>How token vectors become one sentence vector. Several modes concatenate, in the order of this enum.</summary>
public enum PoolingMode
{
    /// <summary>The first token's vector ([CLS]).</summary>
    Cls,
    /// <summary>The element-wise maximum over real tokens.</summary>
    Max,
    /// <summary>The mean over real tokens.</summary>
    Mean,
    /// <summary>The sum over real tokens divided by the square root of their count.</summary>
    MeanSqrtLen,
    /// <summary>The mean weighted by position (1, 2, … L), as SGPT does.</summary>
    WeightedMean,
    /// <summary>The last real token's vector.</summary>
    LastToken,
}

/// <summary>
/// A sentence-transformers Pooling module (<c>1_Pooling/config.json</c>), read in both of its forms: the classic
/// <c>pooling_mode_*_tokens</c> flags that published models carry, and the newer single <c>pooling_mode</c> string.
/// </summary>
/// <remarks>
/// As in sentence-transformers: in the flag form <c>pooling_mode_mean_tokens</c> defaults to true when absent, a
/// <c>pooling_mode</c> string overrides every flag, several flags concatenate their vectors (in <see cref="PoolingMode"/>
/// order, which is the order the library concatenates in), and <c>include_prompt</c> defaults to true.
/// </remarks>
public sealed class PoolingConfig
{
    public PoolingConfig(int wordEmbeddingDimension, IReadOnlyList<PoolingMode> modes, bool includePrompt = true)
    {
        if (wordEmbeddingDimension <= 0) throw new ArgumentOutOfRangeException(nameof(wordEmbeddingDimension));
        if (modes.Count == 0) throw new ArgumentException("at least one pooling mode is needed", nameof(modes));
        WordEmbeddingDimension = wordEmbeddingDimension;
        Modes = modes.Distinct().Order().ToArray();
        IncludePrompt = includePrompt;
    }

    /// <summary>Mean pooling over <paramref name="dimension"/>-wide token vectors, prompt included: what a plain model folder gets.</summary>
    public static PoolingConfig Mean(int dimension) => new(dimension, [PoolingMode.Mean]);

    public int WordEmbeddingDimension { get; }

    /// <summary>The modes in concatenation order.</summary>
    public IReadOnlyList<PoolingMode> Modes { get; }

    /// <summary>False: the prompt's tokens (and the leading special token) are left out of the pooling, as INSTRUCTOR does.</summary>
    public bool IncludePrompt { get; }

    public int OutputDimension => Modes.Count * WordEmbeddingDimension;

    /// <summary>The <c>pooling_mode</c> strings sentence-transformers accepts, by mode.</summary>
    public static IReadOnlyDictionary<string, PoolingMode> ModeNames { get; } = new Dictionary<string, PoolingMode>
    {
        ["cls"] = PoolingMode.Cls,
        ["lasttoken"] = PoolingMode.LastToken,
        ["max"] = PoolingMode.Max,
        ["mean"] = PoolingMode.Mean,
        ["mean_sqrt_len_tokens"] = PoolingMode.MeanSqrtLen,
        ["weightedmean"] = PoolingMode.WeightedMean,
    };

    static readonly (string Key, PoolingMode Mode, bool Default)[] Flags =
    [
        ("pooling_mode_cls_token", PoolingMode.Cls, false),
        ("pooling_mode_max_tokens", PoolingMode.Max, false),
        ("pooling_mode_mean_tokens", PoolingMode.Mean, true),
        ("pooling_mode_mean_sqrt_len_tokens", PoolingMode.MeanSqrtLen, false),
        ("pooling_mode_weightedmean_tokens", PoolingMode.WeightedMean, false),
        ("pooling_mode_lasttoken", PoolingMode.LastToken, false),
    ];

    /// <summary>The config.json sentence-transformers writes for this Pooling module: every flag, then include_prompt.</summary>
    public System.Text.Json.Nodes.JsonObject ToJson()
    {
        var json = new System.Text.Json.Nodes.JsonObject { ["word_embedding_dimension"] = WordEmbeddingDimension };
        foreach (var (key, mode, _) in Flags) json[key] = Modes.Contains(mode);
        json["include_prompt"] = IncludePrompt;
        return json;
    }

    /// <summary>Reads a Pooling module's config.json.</summary>
    public static PoolingConfig Load(string path) => Parse(ConfigJson.Load(path));

    public static PoolingConfig Parse(ConfigJson config)
    {
        int dimension = config.Int("word_embedding_dimension");
        if (dimension <= 0) throw config.Invalid("word_embedding_dimension", $"must be positive, got {dimension}");
        var modes = new List<PoolingMode>();
        if (config.StringOrNull("pooling_mode") is { } name)
        {
            if (!ModeNames.TryGetValue(name.ToLowerInvariant(), out PoolingMode mode))
                throw config.Invalid("pooling_mode", $"unknown pooling mode '{name}' (valid: {string.Join(", ", ModeNames.Keys)})");
            modes.Add(mode);
        }
        else
        {
            foreach (var (key, mode, fallback) in Flags)
                if (config.Bool(key, fallback)) modes.Add(mode);
            if (modes.Count == 0)
                throw config.Invalid("pooling_mode_mean_tokens", "every pooling_mode_* flag is false: the module would pool nothing");
        }
        return new PoolingConfig(dimension, modes, config.Bool("include_prompt", true));
    }

    /// <summary>"mean", "cls+max"…: the modes as sentence-transformers names them.</summary>
    public override string ToString() =>
        string.Join("+", Modes.Select(m => ModeNames.First(p => p.Value == m).Key)) + (IncludePrompt ? "" : " (prompt excluded)");
}
