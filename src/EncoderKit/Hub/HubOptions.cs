using Microsoft.Extensions.Logging;

namespace EncoderKit.Hub;

/// <summary>
/// How <see cref="ModelSource.ResolveAsync"/> reaches the Hugging Face hub and where it keeps what it fetched.
/// Every property left null is taken from the environment the way <c>huggingface_hub</c> reads it.
/// </summary>
public sealed class HubOptions
{
    /// <summary>The hub's base address; null: <c>$HF_ENDPOINT</c>, else <c>https://huggingface.co</c>.</summary>
    public string? Endpoint { get; init; }

    /// <summary>
    /// The access token for gated and private models; null: <c>$HF_TOKEN</c>, else the token file
    /// (<c>$HF_TOKEN_PATH</c>, else <c>$HF_HOME/token</c>); empty: send none.
    /// </summary>
    /// <remarks>Sent only to the endpoint's own origin (scheme, host, port), never logged.</remarks>
    public string? Token { get; init; }

    /// <summary>
    /// The hub cache folder; null: <c>$HF_HUB_CACHE</c>, else <c>$HF_HOME/hub</c>, else
    /// <c>~/.cache/huggingface/hub</c>. Laid out as <c>huggingface_hub</c> lays it out, so both share it.
    /// </summary>
    public string? CacheDir { get; init; }

    /// <summary>Never touch the network; null: <c>$HF_HUB_OFFLINE</c> (1, true, yes, on).</summary>
    public bool? Offline { get; init; }

    /// <summary>
    /// Also fetch pickle weights (<c>pytorch_model.bin</c>) when a repository has no safetensors. They are read
    /// by <see cref="IO.PickleCheckpoint"/>, which executes no code, but they stay off unless asked for.
    /// </summary>
    public bool AllowPickleWeights { get; init; }

    /// <summary>
    /// Fetch exactly the repository files matching these patterns (<c>fnmatch</c> rules, as
    /// <c>allow_patterns</c> in <c>huggingface_hub</c>) instead of the files the model needs.
    /// Pickle weights are still refused unless <see cref="AllowPickleWeights"/>.
    /// </summary>
    public IReadOnlyList<string>? Files { get; init; }

    /// <summary>
    /// Ask the hub which commit a branch or tag points to even when a complete snapshot for it is cached.
    /// Off by default: a model that was fetched once loads without any request.
    /// </summary>
    public bool CheckForUpdates { get; init; }

    /// <summary>How long one request may wait for the server's answer, and for each piece of a download.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How many times a request is tried again after a 5xx or 429 answer, a timeout or a broken connection.</summary>
    /// <remarks>
    /// A host name that does not resolve or a refused connection is not retried: the hub is unreachable, and a complete
    /// cached snapshot is used at once (as huggingface_hub does), or the error says how to work offline.
    /// </remarks>
    public int MaxRetries { get; init; } = 5;

    /// <summary>The longest time the retries of one request may take together: no retry starts that would wait past it.</summary>
    public TimeSpan RetryBudget { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The wait before the first retry; it doubles with each retry up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two tries.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>
    /// The HTTP client to use. Its handler must not follow redirects itself (<c>AllowAutoRedirect = false</c>):
    /// the hub client follows them, deciding per hop whether the token may go along.
    /// </summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>A handler to build the HTTP client on, when <see cref="HttpClient"/> is not given.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>
    /// The environment variables to read (HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, …) instead of the
    /// process's; null reads the process's. A variable missing from the dictionary counts as unset.
    /// </summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>The clock for timeouts and the waits between retries (a fake one in tests); null: the system's.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Where requests, retries and downloads are reported. URLs are logged without their query; tokens never.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Receives the progress of each file download (a progress bar on a terminal, for instance).</summary>
    public IProgress<DownloadProgress>? Progress { get; init; }
}

/// <summary>How far the download of one repository file has come.</summary>
/// <param name="RepoId">The repository, e.g. <c>nomic-ai/modernbert-embed-base</c>.</param>
/// <param name="File">The file's path in the repository.</param>
/// <param name="BytesDone">Bytes on disk so far, a resumed part included.</param>
/// <param name="TotalBytes">The file's size.</param>
/// <param name="Completed">True once the file is verified and in the cache.</param>
public sealed record DownloadProgress(string RepoId, string File, long BytesDone, long TotalBytes, bool Completed);
