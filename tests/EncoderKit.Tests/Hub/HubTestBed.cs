using System.Collections.Concurrent;
using EncoderKit.Hub;
using Microsoft.Extensions.Logging;

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
    /// beyond "a loopback answer takes less than 5 s"), no token, online, this cache, this hub.
    /// </summary>
    public HubOptions Options(bool offline = false, string token = "", TimeSpan? timeout = null, int retries = 3,
        bool allowPickle = false, IReadOnlyList<string>? files = null, bool checkForUpdates = false, IProgress<DownloadProgress>? progress = null) => new()
    {
        Endpoint = Hub.Endpoint,
        CacheDir = CacheDir,
        Token = token,
        Offline = offline,
        Timeout = timeout ?? TimeSpan.FromSeconds(5),
        MaxRetries = retries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
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

/// <summary>Keeps every log line, to check what is (and is not) logged.</summary>
public sealed class CapturingLogger : ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
}
