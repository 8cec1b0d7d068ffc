namespace EncoderKit.Server;

/// <summary>
/// What <c>encoderkit serve</c> is told, under TEI's option names (<c>--max-batch-tokens</c> is
/// <see cref="MaxBatchTokens"/>). Bound from the "Serve" configuration section: appsettings.json, environment variables
/// (<c>Serve__MaxBatchTokens</c>), then the command line, each overriding the one before.
/// </summary>
public sealed class ServerOptions
{
    public const string Section = "Serve";

    /// <summary>Model folder or hub id.</summary>
    public string? Model { get; set; }

    public string Host { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port (the tests' choice).</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Padded tokens (requests' rows × the longest row) one batch may hold; TEI's default.</summary>
    public int MaxBatchTokens { get; set; } = 16384;

    /// <summary>Inputs one request may carry.</summary>
    public int MaxClientBatchSize { get; set; } = 32;

    /// <summary>Requests computing or waiting at once; one more is answered 429 at once.</summary>
    public int MaxConcurrentRequests { get; set; } = 512;

    /// <summary>Tokens an input may have (special tokens included); null: the model's max_seq_length.</summary>
    public int? MaxInputLength { get; set; }

    /// <summary>Truncate inputs longer than <see cref="MaxInputLength"/> when the request does not say.</summary>
    public bool AutoTruncate { get; set; }

    /// <summary>Request body bytes at most.</summary>
    public long PayloadLimit { get; set; } = 2_000_000;

    /// <summary>When set, every route but /health needs <c>Authorization: Bearer</c> this key.</summary>
    public string? ApiKey { get; set; }

    /// <summary>float32 (the default) or bfloat16.</summary>
    public string? Dtype { get; set; }

    /// <summary>
    /// Pooling in place of the model's: TEI's cls, mean, last-token, or sentence-transformers' max, weightedmean,
    /// mean_sqrt_len_tokens, lasttoken; null keeps the model's.
    /// </summary>
    public string? Pooling { get; set; }

    /// <summary>libtorch intra-op threads; null: one per core.</summary>
    public int? Threads { get; set; }

    /// <summary>The model name /info and /v1/embeddings report; null: <see cref="Model"/>.</summary>
    public string? ServedModelName { get; set; }

    /// <summary>A key of the model's prompts applied when a request names none.</summary>
    public string? DefaultPromptName { get; set; }

    /// <summary>A literal prefix applied when a request names no prompt; wins over <see cref="DefaultPromptName"/>.</summary>
    public string? DefaultPrompt { get; set; }

    /// <summary>Refuses values the server cannot run with, naming the option.</summary>
    public void Check()
    {
        static void Positive(long value, string option)
        {
            if (value < 1) throw new EncoderKitException(ErrorKind.BadInput, $"must be at least 1, got {value}", field: option);
        }
        Positive(MaxBatchTokens, "--max-batch-tokens");
        Positive(MaxClientBatchSize, "--max-client-batch-size");
        Positive(MaxConcurrentRequests, "--max-concurrent-requests");
        Positive(PayloadLimit, "--payload-limit");
        if (MaxInputLength is int length) Positive(length, "--max-input-length");
        if (Threads is int threads) Positive(threads, "--threads");
        if (Port is < 0 or > 65535) throw new EncoderKitException(ErrorKind.BadInput, $"must be 0-65535, got {Port}", field: "--port");
        if (DefaultPrompt is not null && DefaultPromptName is not null)
            throw new EncoderKitException(ErrorKind.BadInput, "give --default-prompt or --default-prompt-name, not both", field: "--default-prompt");
    }
}
