using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EncoderKit.Hub;

/// <summary>
/// <see cref="HubOptions"/> with every blank filled from the environment, read the way <c>huggingface_hub</c>'s
/// <c>constants.py</c> reads it: HF_ENDPOINT, HF_TOKEN, HF_TOKEN_PATH, HF_HOME, HF_HUB_CACHE (and the older
/// HUGGINGFACE_HUB_CACHE), XDG_CACHE_HOME, HF_HUB_OFFLINE.
/// </summary>
internal sealed record HubSettings(
    Uri Endpoint, string? Token, string CacheDir, bool Offline, HubOptions Options, ILogger Logger)
{
    public const string DefaultEndpoint = "https://huggingface.co";

    public static HubSettings From(HubOptions? options, Func<string, string?>? environment = null)
    {
        options ??= new HubOptions();
        environment ??= options.Environment is { } variables ? name => variables.GetValueOrDefault(name) : Environment.GetEnvironmentVariable;
        string home = HfHome(environment);

        string endpointText = (options.Endpoint ?? NonEmpty(environment("HF_ENDPOINT")) ?? DefaultEndpoint).TrimEnd('/');
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out Uri? endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new EncoderKitException(ErrorKind.Hub, $"hub endpoint '{endpointText}' is not an http(s) address", field: "HF_ENDPOINT");

        string? token = options.Token ?? NonEmpty(environment("HF_TOKEN")) ?? NonEmpty(environment("HUGGING_FACE_HUB_TOKEN"))
            ?? ReadTokenFile(NonEmpty(environment("HF_TOKEN_PATH")) ?? Path.Combine(home, "token"));
        if (string.IsNullOrWhiteSpace(token)) token = null;
        else token = token.Trim();

        string cache = options.CacheDir ?? NonEmpty(environment("HF_HUB_CACHE")) ?? NonEmpty(environment("HUGGINGFACE_HUB_CACHE"))
            ?? Path.Combine(home, "hub");
        bool offline = options.Offline ?? IsTrue(environment("HF_HUB_OFFLINE"));

        return new HubSettings(endpoint, token, Path.GetFullPath(ExpandUser(cache)), offline, options,
            options.Logger ?? NullLogger.Instance);
    }

    /// <summary>The cache folder named by the environment alone (what the CLI's <c>cache</c> command looks at).</summary>
    public static string DefaultCacheDir(Func<string, string?>? environment = null) => From(new HubOptions { Token = "" }, environment).CacheDir;

    // $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
    static string HfHome(Func<string, string?> environment) =>
        ExpandUser(NonEmpty(environment("HF_HOME"))
            ?? Path.Combine(NonEmpty(environment("XDG_CACHE_HOME")) ?? Path.Combine("~", ".cache"), "huggingface"));

    static string? ReadTokenFile(string path)
    {
        path = ExpandUser(path);
        try { return File.Exists(path) ? File.ReadAllText(path) : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    // huggingface_hub's _is_true: "1", "ON", "YES", "TRUE", any case.
    internal static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    internal static string ExpandUser(string path)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal))
            return Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..];
        return path;
    }

    /// <summary>True when <paramref name="url"/> is on the endpoint's own origin: only there may the token go.</summary>
    public bool IsEndpointOrigin(Uri url) =>
        string.Equals(url.Scheme, Endpoint.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(url.IdnHost, Endpoint.IdnHost, StringComparison.OrdinalIgnoreCase)
        && url.Port == Endpoint.Port;
}
