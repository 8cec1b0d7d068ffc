using System.Net;
using EncoderKit.Hub;
using EncoderKit.Tests.Cli;
using Microsoft.Extensions.Time.Testing;

namespace EncoderKit.Tests.Hub;

/// <summary>
/// An unreachable hub, as huggingface_hub treats it: a name that does not resolve or a refused connection is not
/// retried; a complete cached snapshot is used at once with one warning; with nothing cached the error says how to work
/// offline. Retries (5xx, 429, timeouts) stop within the retry budget. Every test runs on a fake clock that is never
/// moved unless the test says so: a call that completes did not wait on any timeout or backoff.
/// </summary>
public class HubUnreachableTests
{
    static string Refused() => $"http://127.0.0.1:{CliErrorTests.ClosedPort()}";
    const string Unresolvable = "http://encoderkit-test-host.invalid";

    public static TheoryData<string> Unreachable => new() { "refused", "unresolvable" };

    static string Endpoint(string how) => how == "refused" ? Refused() : Unresolvable;

    static Task<string> ResolveAsync(string model, HubOptions options) =>
        ModelSource.ResolveAsync(model, options: options).WaitAsync(TimeSpan.FromMinutes(1)); // a wait on the fake clock would hang: fail instead

    [Theory, MemberData(nameof(Unreachable))]
    public async Task ACompleteCachedSnapshotIsUsedAtOnceWithOneWarning(string how)
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        int logged = bed.Log.Lines.Count;

        var time = new FakeTimeProvider();
        Assert.Equal(folder, await ResolveAsync(repo.Id, bed.Options(endpoint: Endpoint(how), checkForUpdates: true, retries: 5, time: time)));

        string warning = Assert.Single(bed.Log.Lines.Skip(logged), l => l.StartsWith("Warning", StringComparison.Ordinal));
        Assert.Contains("using the cached snapshot", warning);
        Assert.DoesNotContain(bed.Log.Lines.Skip(logged), l => l.Contains("trying again", StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Unreachable))]
    public async Task ASnapshotPythonWroteWithoutNoExistMarkersIsUsedAtOnce(string how)
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        // snapshot_download writes refs/, blobs/ and snapshots/ but no .no_exist markers for the files a repository lacks.
        Directory.Delete(Path.Combine(bed.RepoFolder(repo.Id), ".no_exist"), recursive: true);

        var time = new FakeTimeProvider();
        Assert.Equal(folder, await ResolveAsync(repo.Id, bed.Options(endpoint: Endpoint(how), retries: 5, time: time)));
        Assert.Single(bed.Log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("using the cached snapshot", StringComparison.Ordinal));
    }

    [Theory, MemberData(nameof(Unreachable))]
    public async Task NothingCachedIsOneErrorThatSaysHowToWorkOffline(string how)
    {
        await using var bed = await HubTestBed.StartAsync(FakeModels.SentenceBert());
        var time = new FakeTimeProvider();

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ResolveAsync("org/tiny-bert", bed.Options(endpoint: Endpoint(how), retries: 5, time: time)));

        Assert.Equal(ErrorKind.Unreachable, e.Kind);
        Assert.Contains("HF_HUB_OFFLINE=1", e.Message);
        Assert.Contains("local model folder", e.Message);
        Assert.Contains(new Uri(Endpoint(how)).Host, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain(bed.Log.Lines, l => l.Contains("trying again", StringComparison.Ordinal));
    }

    /// <summary>Answers every request with 503, counting them.</summary>
    sealed class Unavailable : HttpMessageHandler
    {
        int _calls;
        public int Calls => Volatile.Read(ref _calls);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));
        }
    }

    /// <summary>A fake clock that tells which waits were asked of it, so the test moves it only once the client waits.</summary>
    sealed class WatchedClock : FakeTimeProvider
    {
        readonly System.Collections.Concurrent.ConcurrentQueue<TimeSpan> _waits = new();

        public bool Waits(TimeSpan dueTime) => _waits.Contains(dueTime);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            ITimer timer = base.CreateTimer(callback, state, dueTime, period);
            _waits.Enqueue(dueTime);
            return timer;
        }
    }

    static async Task WaitForAsync(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (!condition()) await Task.Delay(5, limit.Token);
    }

    [Fact]
    public async Task RetriesBackOffOnTheClockAndStopWithinTheBudget()
    {
        var time = new WatchedClock();
        var handler = new Unavailable();
        using var cache = new TempFolder();
        var options = new HubOptions
        {
            Endpoint = "http://hub.test", CacheDir = cache.Path, Token = "", Offline = false, HttpHandler = handler, TimeProvider = time,
            MaxRetries = 10, RetryBaseDelay = TimeSpan.FromSeconds(1), RetryMaxDelay = TimeSpan.FromSeconds(8), RetryBudget = TimeSpan.FromSeconds(10),
        };
        Task<string> resolve = ModelSource.ResolveAsync("org/model", options: options);

        // Waits of 1, 2 and 4 s: each retry comes only once its whole wait has passed on the clock.
        foreach (int seconds in new[] { 1, 2, 4 })
        {
            TimeSpan wait = TimeSpan.FromSeconds(seconds);
            await WaitForAsync(() => time.Waits(wait));
            int calls = handler.Calls;
            time.Advance(wait - TimeSpan.FromMilliseconds(1));
            Assert.Equal(calls, handler.Calls);
            time.Advance(TimeSpan.FromMilliseconds(1));
            await WaitForAsync(() => handler.Calls == calls + 1);
        }

        // 7 s have gone; the next wait (8 s) would end past the 10 s budget, so there is none.
        var e = await Assert.ThrowsAsync<EncoderKitException>(() => resolve.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Equal(ErrorKind.Hub, e.Kind);
        Assert.Contains("HTTP 503", e.Message);
        Assert.Contains("tried 4 times in 7 s", e.Message);
        Assert.Equal(4, handler.Calls);
        Assert.False(time.Waits(TimeSpan.FromSeconds(8)));
    }
}
