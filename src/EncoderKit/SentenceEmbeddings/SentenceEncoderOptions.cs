using EncoderKit.Runtime;
using EncoderKit.Compute;
using EncoderKit.Hub;
using Microsoft.Extensions.Logging;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>How a <see cref="SentenceEncoder"/> is loaded. Settable, so it binds as options (<c>services.AddSentenceEncoder(o => …)</c>).</summary>
public sealed class SentenceEncoderOptions
{
    /// <summary>A model folder or hub id; used by dependency injection (the load methods take it as an argument).</summary>
    public string? Model { get; set; }

    /// <summary>Hub branch, tag or commit; null for main.</summary>
    public string? Revision { get; set; }

    /// <summary>Device, dtype and threads.</summary>
    public ComputeOptions Compute { get; set; } = new();

    /// <summary>Matryoshka: keep the first N dimensions, then normalise (when the model normalises). Null keeps all.</summary>
    public int? TruncateDim { get; set; }

    /// <summary>Inputs per forward pass (sentence-transformers' default is 32).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Padded tokens (inputs × the longest of them) per forward pass at most; null for no budget.</summary>
    public int? MaxBatchTokens { get; set; }

    /// <summary>Overrides the model's max_seq_length: longer inputs are truncated to this many tokens.</summary>
    public int? MaxSeqLength { get; set; }

    /// <summary>Overrides the model's pooling mode (its Pooling module's, or a plain folder's mean); include_prompt is kept.</summary>
    public PoolingMode? Pooling { get; set; }

    /// <summary>Hub endpoint, token, cache; null reads them from the environment.</summary>
    public HubOptions? Hub { get; set; }

    /// <summary>Where notices and warnings go (plain-folder fallback, truncation); null discards them.</summary>
    public ILogger? Logger { get; set; }
}

/// <summary>Per call settings of <see cref="SentenceEncoder.Encode(IReadOnlyList{string}, string?, string?, EmbedOptions?, CancellationToken)"/>.</summary>
public sealed record EmbedOptions
{
    public static EmbedOptions Default { get; } = new();

    /// <summary>Overrides <see cref="SentenceEncoderOptions.TruncateDim"/> for this call.</summary>
    public int? TruncateDim { get; init; }

    /// <summary>
    /// Null: as the model says (normalised when its modules end in Normalize). True: normalise anyway. False: return
    /// the vectors before the final Normalize module.
    /// </summary>
    public bool? Normalize { get; init; }

    /// <summary>Overrides <see cref="SentenceEncoderOptions.BatchSize"/> for this call.</summary>
    public int? BatchSize { get; init; }

    /// <summary>Overrides <see cref="SentenceEncoderOptions.MaxBatchTokens"/> for this call.</summary>
    public int? MaxBatchTokens { get; init; }

    /// <summary>Batch inputs of similar length together (the default); false keeps input order in batches (for comparison).</summary>
    public bool SortByLength { get; init; } = true;

    /// <summary>The share of a batch's positions that may be padding (<see cref="BatchLimits.MaxPaddingShare"/>); null: no such limit.</summary>
    public double? MaxPaddingShare { get; init; } = BatchLimits.DefaultMaxPaddingShare;

    /// <summary>Told how many inputs are done after each batch.</summary>
    public IProgress<int>? Progress { get; init; }
}
