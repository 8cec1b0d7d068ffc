using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.Logging;

namespace EncoderKit.Hub;

/// <summary>How a request treats redirects.</summary>
internal enum Redirects
{
    /// <summary>Follow every redirect (API calls, downloads), the token going only to the endpoint's origin.</summary>
    All,
    /// <summary>
    /// Follow only relative ones (a renamed repository) and hand back an absolute one unfollowed: the file metadata
    /// request of huggingface_hub, whose <c>Location</c> is the address to download from (a CDN for LFS files).
    /// </summary>
    RelativeOnly,
}

/// <summary>A final answer: the response and the address it came from.</summary>
internal sealed record HubResponse(HttpResponseMessage Message, Uri Url) : IDisposable
{
    public int Status => (int)Message.StatusCode;
    public bool IsRedirect => Status is >= 300 and < 400 && Status != 304;
    public void Dispose() => Message.Dispose();

    public string? Header(string name) =>
        Message.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
        : Message.Content.Headers.TryGetValues(name, out values) ? values.FirstOrDefault() : null;
}

/// <summary>A failure worth trying again: 5xx or 429, a timeout, a broken connection.</summary>
internal sealed class TransientHubException(string message, Exception? inner = null, TimeSpan? retryAfter = null)
    : Exception(message, inner)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>The hub cannot be reached at all: its name does not resolve, or nothing listens there. Not worth a retry.</summary>
internal sealed class HubUnreachableException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// A timeout on the hub's clock, linked to the caller's token, that can be started again (once per piece of a download).
/// </summary>
internal sealed class Deadline : IDisposable
{
    readonly CancellationTokenSource _source;
    readonly ITimer _timer;
    readonly TimeSpan _after;

    public Deadline(TimeProvider time, TimeSpan after, CancellationToken cancellationToken)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _after = after;
        _timer = time.CreateTimer(static source =>
        {
            try { ((CancellationTokenSource)source!).Cancel(); }
            catch (ObjectDisposedException) { } // fired while the request finished
        }, _source, after, Timeout.InfiniteTimeSpan);
    }

    public CancellationToken Token => _source.Token;

    public void Restart() => _timer.Change(_after, Timeout.InfiniteTimeSpan);

    public void Dispose()
    {
        _timer.Dispose();
        _source.Dispose();
    }
}

/// <summary>
/// The hub's HTTP conversation: one request with its redirects, retries with exponential backoff within a time budget,
/// timeouts as configured (on the options' clock), and the rule that the token goes only to the endpoint's own origin (huggingface_hub drops it when a
/// download is redirected to another host).
/// </summary>
internal sealed class HubHttp
{
    const int MaxRedirects = 10;
    static readonly string UserAgent =
        $"encoderkit/{typeof(HubHttp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0"}";

    static readonly Lazy<HttpClient> Shared = new(() => new HttpClient(NewHandler()) { Timeout = System.Threading.Timeout.InfiniteTimeSpan });

    readonly HubSettings _settings;
    readonly HttpClient _client;

    public HubHttp(HubSettings settings)
    {
        _settings = settings;
        HubOptions o = settings.Options;
        _client = o.HttpClient
            ?? (o.HttpHandler is not null ? new HttpClient(o.HttpHandler, disposeHandler: false) { Timeout = System.Threading.Timeout.InfiniteTimeSpan }
                : Shared.Value);
    }

    static SocketsHttpHandler NewHandler() => new()
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(30),
    };

    ILogger Log => _settings.Logger;

    /// <summary>The clock timeouts and retry waits run on.</summary>
    public TimeProvider Time => _settings.Options.TimeProvider ?? TimeProvider.System;

    /// <summary>A timeout of the configured length for one request or one piece of an answer.</summary>
    public Deadline Timeout(CancellationToken cancellationToken) => new(Time, _settings.Options.Timeout, cancellationToken);

    /// <summary>An address safe to print: no query (signed CDN addresses carry credentials there).</summary>
    public static string Printable(Uri url) => url.GetLeftPart(UriPartial.Path);

    /// <summary>
    /// Runs <paramref name="attempt"/>, again after each transient failure (5xx, 429, a timeout, a broken connection),
    /// waiting longer each time, as long as the wait ends within the retry budget. An unreachable hub is not retried.
    /// </summary>
    /// <remarks>
    /// Hand-written rather than a Polly pipeline: the retried unit is not one HTTP send but a send plus the reading of
    /// its body into a file that the next try resumes with a Range request, and the loop is short enough to read whole.
    /// </remarks>
    public async Task<T> WithRetriesAsync<T>(string what, Func<int, CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        HubOptions o = _settings.Options;
        long start = Time.GetTimestamp();
        for (int tries = 0; ; tries++)
        {
            try
            {
                return await attempt(tries, cancellationToken).ConfigureAwait(false);
            }
            catch (HubUnreachableException e)
            {
                throw new EncoderKitException(ErrorKind.Unreachable, e.Message, field: what, inner: e);
            }
            catch (TransientHubException e) when (tries < o.MaxRetries && Time.GetElapsedTime(start) + Backoff(tries, e.RetryAfter) <= o.RetryBudget)
            {
                TimeSpan wait = Backoff(tries, e.RetryAfter);
                Log.LogWarning("{What}: {Problem}; trying again in {Wait} ms ({Try}/{Max})",
                    what, e.Message, (int)wait.TotalMilliseconds, tries + 1, o.MaxRetries);
                await Task.Delay(wait, Time, cancellationToken).ConfigureAwait(false);
            }
            catch (TransientHubException e)
            {
                string tries1 = tries == 0 ? "" : $" (tried {tries + 1} times in {Time.GetElapsedTime(start).TotalSeconds:0.#} s)";
                throw new EncoderKitException(ErrorKind.Hub, $"{e.Message}{tries1}", field: what, inner: e);
            }
        }
    }

    TimeSpan Backoff(int tries, TimeSpan? retryAfter)
    {
        HubOptions o = _settings.Options;
        double ms = o.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, tries);
        if (retryAfter is { } after) ms = Math.Max(ms, after.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(Math.Min(ms, o.RetryMaxDelay.TotalMilliseconds));
    }

    /// <summary>
    /// Sends one request and follows its redirects. The answer's headers are awaited within the configured timeout;
    /// a 5xx or 429 answer, a timeout or a connection failure raise <see cref="TransientHubException"/>.
    /// </summary>
    public async Task<HubResponse> SendAsync(HttpMethod method, Uri url, Redirects redirects, long rangeFrom, CancellationToken cancellationToken)
    {
        for (int hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(method, url);
            request.Headers.UserAgent.ParseAdd(UserAgent);
            // No compression: sizes must be the file's own (huggingface_hub sends the same).
            request.Headers.AcceptEncoding.ParseAdd("identity");
            if (_settings.Token is { } token && _settings.IsEndpointOrigin(url))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            if (rangeFrom > 0) request.Headers.Range = new RangeHeaderValue(rangeFrom, null);

            Log.LogDebug("{Method} {Url}{Range}", method, Printable(url), rangeFrom > 0 ? $" from byte {rangeFrom}" : "");
            HttpResponseMessage message;
            using (Deadline timeout = Timeout(cancellationToken))
            {
                try
                {
                    message = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TransientHubException(
                        $"{method} {Printable(url)}: no answer within {_settings.Options.Timeout.TotalSeconds:0.###} s", e);
                }
                catch (HttpRequestException e) when (IsUnreachable(e))
                {
                    throw new HubUnreachableException($"cannot reach {url.Host}: {e.Message}", e);
                }
                catch (HttpRequestException e)
                {
                    throw new TransientHubException($"{method} {Printable(url)}: {e.Message}", e);
                }
            }
            var response = new HubResponse(message, url);

            if (response.Status is 429 or >= 500)
            {
                TimeSpan? retryAfter = message.Headers.RetryAfter?.Delta;
                string detail = response.Header("X-Error-Message") is { } m ? $" ({m})" : "";
                response.Dispose();
                throw new TransientHubException($"{method} {Printable(url)}: HTTP {response.Status}{detail}", retryAfter: retryAfter);
            }
            if (!response.IsRedirect) return response;

            string? location = response.Header("Location");
            if (location is null) return response;
            (Uri target, bool relative) = RedirectTarget(url, location);
            if (redirects == Redirects.RelativeOnly && !relative) return response;
            response.Dispose();
            if (hop + 1 >= MaxRedirects)
                throw new EncoderKitException(ErrorKind.Hub, $"more than {MaxRedirects} redirects", field: Printable(url));
            if (url.Scheme == Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttps)
                throw new EncoderKitException(ErrorKind.Hub, $"refusing a redirect from https to {Printable(target)}", field: Printable(url));
            Log.LogDebug("Redirected to {Url}", Printable(target));
            url = target;
        }
    }

    /// <summary>No answer will come, however often asked: the name does not resolve, or the host refuses or cannot be routed to.</summary>
    static bool IsUnreachable(HttpRequestException e) =>
        e.HttpRequestError == HttpRequestError.NameResolutionError
        || e.HttpRequestError == HttpRequestError.ConnectionError && e.InnerException is SocketException
        {
            SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.HostUnreachable
                or SocketError.NetworkUnreachable or SocketError.NoData or SocketError.TryAgain,
        };

    /// <summary>
    /// Resolves a <c>Location</c> header by hand: .NET reads "/path" as an absolute file address on Unix. A target
    /// with a scheme or host is absolute; anything else is relative to the request (RFC 7231 allows both).
    /// </summary>
    internal static (Uri Target, bool Relative) RedirectTarget(Uri from, string location)
    {
        location = location.Trim();
        Uri? target;
        bool relative;
        if (location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            relative = false;
            Uri.TryCreate(location, UriKind.Absolute, out target);
        }
        else if (location.StartsWith("//", StringComparison.Ordinal))
        {
            relative = false;
            Uri.TryCreate(from.Scheme + ":" + location, UriKind.Absolute, out target);
        }
        else if (location.Length > 0 && !HasScheme(location))
        {
            relative = true;
            Uri.TryCreate(from, location, out target);
        }
        else
        {
            relative = false;
            target = null;
        }
        if (target is null || target.Scheme is not ("http" or "https"))
            throw new EncoderKitException(ErrorKind.Hub, $"redirect to an address that is not http(s): '{location}'", field: Printable(from));
        return (target, relative);
    }

    static bool HasScheme(string location)
    {
        int colon = location.IndexOf(':');
        if (colon <= 0) return false;
        int slash = location.IndexOfAny(['/', '?', '#']);
        return slash < 0 || colon < slash;
    }

    /// <summary>The user-facing error for a 4xx answer, naming the repository, file and what to do.</summary>
    public EncoderKitException ErrorFor(HubResponse response, string repoId, string? revision, string? file)
    {
        string? code = response.Header("X-Error-Code");
        string? serverMessage = response.Header("X-Error-Message");
        string where = file is null ? repoId : $"{repoId}/{file}";
        string problem = (response.Status, code) switch
        {
            (401, _) => $"the hub refused access (HTTP 401): the model may be private or gated; "
                        + (_settings.Token is null ? "set HF_TOKEN or write a token to $HF_HOME/token" : "check that the token may read it"),
            (403, _) or (_, "GatedRepo") => $"access to {repoId} is restricted (HTTP {response.Status}): accept its conditions at {_settings.Endpoint}{repoId} and use a token that has",
            (404, "RevisionNotFound") => $"revision '{revision}' not found in {repoId}",
            (404, "EntryNotFound") => $"file not found in {repoId} at revision '{revision}'",
            (404, _) => $"repository {repoId} not found on {_settings.Endpoint} (or it is private and no valid token was sent)",
            _ => $"HTTP {response.Status} from {Printable(response.Url)}",
        };
        if (serverMessage is not null && response.Status != 404) problem += $" ({serverMessage})";
        return new EncoderKitException(ErrorKind.Hub, problem, file: where);
    }
}
