using System.Collections.Concurrent;
using EncoderKit.Hub;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EncoderKit.Tests.Hub;

/// <summary>A fresh cache folder, a fake hub, and options pointing at both (nothing from the environment).</summary>
public sealed class HubTestBed : IAsyncDisposable
{
    public FakeHub Hub { get; }
    public string CacheDir { get; }
    public CapturingLogger Log { get; } = new();

    HubTestBed(FakeHub hub, string cacheDir)
    {
        Hub = hub;
        CacheDir = cacheDir;
    }

    public static async Task<HubTestBed> StartAsync(params FakeRepo[] repos)
    {
        string cache = Path.Combine(Path.GetTempPath(), "encoderkit-hub-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(cache);
        return new HubTestBed(await FakeHub.StartAsync(repos), cache);
    }

    /// <summary>
    /// Options for the tests: small timeouts and waits (set here, so no test depends on how fast the machine is
    /// beyond "a loopback answer takes less than 5 s"), no token, online, this cache, this hub. With a fake
    /// <paramref name="time"/>, timeouts and waits pass only as the test moves that clock, and retries do not wait.
    /// </summary>
    public HubOptions Options(bool offline = false, string token = "", TimeSpan? timeout = null, int retries = 3,
        bool allowPickle = false, IReadOnlyList<string>? files = null, bool checkForUpdates = false, IProgress<DownloadProgress>? progress = null,
        TimeProvider? time = null, string? endpoint = null) => new()
    {
        Endpoint = endpoint ?? Hub.Endpoint,
        TimeProvider = time,
        CacheDir = CacheDir,
        Token = token,
        Offline = offline,
        Timeout = timeout ?? TimeSpan.FromSeconds(5),
        MaxRetries = retries,
        RetryBaseDelay = time is null ? TimeSpan.FromMilliseconds(1) : TimeSpan.Zero,
        RetryMaxDelay = TimeSpan.FromMilliseconds(5),
        AllowPickleWeights = allowPickle,
        Files = files,
        CheckForUpdates = checkForUpdates,
        Logger = Log,
        Progress = progress,
    };

    public string RepoFolder(string id) => Path.Combine(CacheDir, "models--" + id.Replace("/", "--"));

    /// <summary>Every file under the cache (links as themselves), relative, '/' separated.</summary>
    public List<string> CacheEntries() =>
        Directory.EnumerateFileSystemEntries(CacheDir, "*", SearchOption.AllDirectories)
            .Where(p => !Directory.Exists(p) || new DirectoryInfo(p).LinkTarget is not null)
            .Select(p => Path.GetRelativePath(CacheDir, p).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();

    public async ValueTask DisposeAsync()
    {
        await Hub.DisposeAsync();
        try { Directory.Delete(CacheDir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A fake clock for the hub, moved by the test only while the client is waiting on it.</summary>
public static class FakeClock
{
    /// <summary>
    /// Waits (really) for <paramref name="work"/>, moving <paramref name="time"/> on by <paramref name="step"/> each time
    /// <paramref name="waiting"/> says the client now waits on the clock (a request held by the hub, a stalled body).
    /// </summary>
    public static async Task<T> DriveAsync<T>(FakeTimeProvider time, TimeSpan step, Func<bool> waiting, Task<T> work)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // a hang fails the test, not the run
        while (!work.IsCompleted)
        {
            if (waiting()) time.Advance(step);
            await Task.WhenAny(work, Task.Delay(10, limit.Token));
            limit.Token.ThrowIfCancellationRequested();
        }
        return await work;
    }

    /// <summary>True once per new request the hub has seen that matches: each such request is held until the client gives up.</summary>
    public static Func<bool> OncePerRequest(FakeHub hub, string method, string path)
    {
        int advanced = 0;
        return () =>
        {
            int seen = hub.Count(method, path);
            if (seen <= advanced) return false;
            advanced = seen;
            return true;
        };
    }
}

/// <summary>Reports as they happen, on the reporting thread (Progress&lt;T&gt; would post them later).</summary>
public sealed class LastProgress : IProgress<DownloadProgress>
{
    public DownloadProgress? Last { get; private set; }
    public void Report(DownloadProgress value) => Last = value;
}

/// <summary>Keeps every log line, to check what is (and is not) logged.</summary>
public sealed class CapturingLogger : ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
}
