using EncoderKit.Hub;
using Microsoft.Extensions.Time.Testing;

namespace EncoderKit.Tests.Hub;

/// <summary>
/// A hub that fails, stalls, breaks off, lies or attacks: retried where a retry can help, refused with a clear
/// error where it cannot, and in every case the cache stays consistent (no partial blob, no dangling link).
/// Timeouts run on a fake clock that the test moves only once the hub holds a request or a body has stalled.
/// </summary>
public class HubFaultTests
{
    const string Weights = "model.safetensors";

    /// <summary>No blob that is not whole, no link to nothing, no temporary left behind.</summary>
    static void AssertCacheConsistent(HubTestBed bed, FakeRepo repo, bool allowIncomplete = false)
    {
        string root = bed.RepoFolder(repo.Id);
        string blobs = Path.Combine(root, "blobs");
        var known = repo.Files.Values.ToDictionary(f => f.Etag);
        if (Directory.Exists(blobs))
            foreach (string blob in Directory.EnumerateFiles(blobs))
            {
                string name = Path.GetFileName(blob);
                if (name.EndsWith(".incomplete", StringComparison.Ordinal))
                {
                    Assert.True(allowIncomplete, $"left {name}");
                    continue;
                }
                Assert.True(known.ContainsKey(name), $"unknown blob {name}");
                Assert.Equal(known[name].Content, File.ReadAllBytes(blob));
            }
        string snapshots = Path.Combine(root, "snapshots");
        if (Directory.Exists(snapshots))
            foreach (string entry in Directory.EnumerateFiles(snapshots, "*", SearchOption.AllDirectories))
            {
                Assert.DoesNotContain(".tmp", entry, StringComparison.Ordinal);
                Assert.True(new FileInfo(entry).ResolveLinkTarget(true) is FileInfo { Exists: true }, $"dangling link {entry}");
            }
    }

    [Fact]
    public async Task A500IsRetriedUntilTheHubAnswers()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        bed.Hub.Faults.Add(new Fault("/api/models/", FaultKind.Status, Times: 2, Status: 500));
        bed.Hub.Faults.Add(new Fault("/lfs/", FaultKind.Status, Times: 1, Status: 503));

        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options(retries: 3));

        Assert.Equal(3, bed.Hub.Count("GET", "/api/models/"));
        Assert.Equal(repo.Files["model-00001-of-00002.safetensors"].Content, File.ReadAllBytes(Path.Combine(folder, "model-00001-of-00002.safetensors")));
        Assert.Contains(bed.Log.Lines, l => l.Contains("HTTP 500", StringComparison.Ordinal) && l.Contains("trying again", StringComparison.Ordinal));
        AssertCacheConsistent(bed, repo);
    }

    [Fact]
    public async Task A500ThatLastsIsAClearErrorAfterTheConfiguredRetries()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        bed.Hub.Faults.Add(new Fault("/api/models/", FaultKind.Status, Times: 100, Status: 502));

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options(retries: 2)));

        Assert.Equal(ErrorKind.Hub, e.Kind);
        Assert.Contains("HTTP 502", e.Message, StringComparison.Ordinal);
        Assert.Contains("tried 3 times", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, bed.Hub.Count("GET", "/api/models/"));
    }

    [Fact]
    public async Task WhenTheHubIsDownACompleteCachedSnapshotIsUsed()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        bed.Hub.Faults.Add(new Fault("/api/models/", FaultKind.Status, Times: 100, Status: 503));

        Assert.Equal(folder, await ModelSource.ResolveAsync(repo.Id, options: bed.Options(retries: 1, checkForUpdates: true)));
    }

    [Fact]
    public async Task ASlowAnswerTimesOutAndIsRetried()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        bed.Hub.Faults.Add(new Fault("/config.json", FaultKind.Slow, Times: 1, Method: "HEAD"));

        // The server holds the first HEAD until the client leaves; the client's timeout is what ends it.
        var time = new FakeTimeProvider();
        TimeSpan timeout = TimeSpan.FromMilliseconds(500);
        string folder = await FakeClock.DriveAsync(time, timeout, FakeClock.OncePerRequest(bed.Hub, "HEAD", "/config.json"),
            ModelSource.ResolveAsync(repo.Id, options: bed.Options(timeout: timeout, retries: 5, time: time)));

        Assert.True(bed.Hub.Count("HEAD", "/config.json") >= 2);
        Assert.Equal(repo.Files["config.json"].Content, File.ReadAllBytes(Path.Combine(folder, "config.json")));
        Assert.Contains(bed.Log.Lines, l => l.Contains("no answer within", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnAnswerThatNeverComesIsAClearError()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        bed.Hub.Faults.Add(new Fault("/api/models/", FaultKind.Slow, Times: 100));

        var time = new FakeTimeProvider();
        var e = await Assert.ThrowsAsync<EncoderKitException>(() => FakeClock.DriveAsync(time, TimeSpan.FromSeconds(1),
            FakeClock.OncePerRequest(bed.Hub, "GET", "/api/models/"),
            ModelSource.ResolveAsync(repo.Id, options: bed.Options(timeout: TimeSpan.FromSeconds(1), retries: 1, time: time))));
        Assert.Contains("no answer within 1 s", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, bed.Hub.Count("GET", "/api/models/"));
    }

    [Fact]
    public async Task ABodyThatBreaksOffIsResumedWithRange()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        FakeFile weights = repo.Files[Weights];
        bed.Hub.Faults.Add(new Fault("/lfs/" + weights.Sha256, FaultKind.Truncate, Times: 1));

        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options(retries: 2));

        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(folder, Weights)));
        var gets = bed.Hub.Requests.Where(r => r.Path.StartsWith("/lfs/" + weights.Sha256, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, gets.Count);
        Assert.Null(gets[0].Range);
        // The second request goes on from what arrived. How much did depends on the kernel (a reset connection drops
        // bytes not yet read), so only the bounds are certain; the exact offset is checked with a stall below.
        if (gets[1].Range is { } range)
            Assert.InRange(long.Parse(range["bytes=".Length..^1]), 1, weights.Content.Length / 2);
        AssertCacheConsistent(bed, repo);
    }

    [Fact]
    public async Task AnInterruptedDownloadResumesOnTheNextResolve()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        FakeFile weights = repo.Files[Weights];
        // Half the body, then silence on an open connection: everything sent arrives, then the read times out.
        bed.Hub.Faults.Add(new Fault("/lfs/" + weights.Sha256, FaultKind.Stall, Times: 1));

        var time = new FakeTimeProvider();
        var progress = new LastProgress();
        var e = await Assert.ThrowsAsync<EncoderKitException>(() => FakeClock.DriveAsync(time, TimeSpan.FromMilliseconds(500),
            StalledAtHalf(bed, weights, progress),
            ModelSource.ResolveAsync(repo.Id, options: bed.Options(retries: 0, timeout: TimeSpan.FromMilliseconds(500), time: time, progress: progress))));
        Assert.Equal(ErrorKind.Hub, e.Kind);
        Assert.Equal($"{repo.Id}/{Weights}", e.Field);
        string partial = Path.Combine(bed.RepoFolder(repo.Id), "blobs", weights.Sha256 + ".incomplete");
        Assert.Equal(weights.Content.Length / 2, new FileInfo(partial).Length); // kept for the next try
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder(repo.Id), "snapshots", repo.Commit, Weights)));
        AssertCacheConsistent(bed, repo, allowIncomplete: true);

        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options(retries: 0, time: time));

        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(folder, Weights)));
        Assert.Equal($"bytes={weights.Content.Length / 2}-", bed.Hub.Requests.Last(r => r.Path.StartsWith("/lfs/" + weights.Sha256, StringComparison.Ordinal)).Range);
        Assert.False(File.Exists(partial));
        AssertCacheConsistent(bed, repo);
    }

    /// <summary>The first download of <paramref name="file"/> has written its first half, and the hub sends no more.</summary>
    static Func<bool> StalledAtHalf(HubTestBed bed, FakeFile file, LastProgress progress) => () =>
        bed.Hub.Count("GET", "/lfs/" + file.Sha256) == 1
        && progress.Last is { Completed: false } last && last.BytesDone == file.Content.Length / 2 && last.TotalBytes == file.Content.Length;

    [Fact]
    public async Task ABodyThatStallsTimesOutAndResumes()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        FakeFile shard = repo.Files["model-00001-of-00002.safetensors"];
        bed.Hub.Faults.Add(new Fault("/lfs/" + shard.Sha256, FaultKind.Stall, Times: 1));

        var time = new FakeTimeProvider();
        var progress = new LastProgress();
        string folder = await FakeClock.DriveAsync(time, TimeSpan.FromMilliseconds(500), StalledAtHalf(bed, shard, progress),
            ModelSource.ResolveAsync(repo.Id, options: bed.Options(timeout: TimeSpan.FromMilliseconds(500), retries: 5, time: time, progress: progress)));

        Assert.Equal(shard.Content, File.ReadAllBytes(Path.Combine(folder, "model-00001-of-00002.safetensors")));
        Assert.Contains(bed.Hub.Requests, r => r.Range == $"bytes={shard.Content.Length / 2}-");
        AssertCacheConsistent(bed, repo);
    }

    [Fact]
    public async Task AWrongSha256IsRefusedAndLeavesNothingBehind()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        FakeFile weights = repo.Files[Weights];
        bed.Hub.Faults.Add(new Fault("/lfs/" + weights.Sha256, FaultKind.Corrupt, Times: 1));

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));

        Assert.Equal(ErrorKind.Hub, e.Kind);
        Assert.Equal($"{repo.Id}/{Weights}", e.File);
        Assert.Contains("wrong sha256", e.Message, StringComparison.Ordinal);
        Assert.Contains(weights.Sha256, e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder(repo.Id), "blobs", weights.Sha256)));
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder(repo.Id), "blobs", weights.Sha256 + ".incomplete")));
        AssertCacheConsistent(bed, repo);

        // The next try fetches it whole.
        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        Assert.Equal(weights.Content, File.ReadAllBytes(Path.Combine(folder, Weights)));
    }

    [Fact]
    public async Task AWrongGitHashOfASmallFileIsRefused()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        bed.Hub.Faults.Add(new Fault("/config.json", FaultKind.Corrupt, Times: 1, Method: "GET"));

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));

        Assert.Contains("wrong git blob hash", e.Message, StringComparison.Ordinal);
        Assert.Equal($"{repo.Id}/config.json", e.File);
        AssertCacheConsistent(bed, repo);
    }

    [Fact]
    public async Task MoreBytesThanAnnouncedAreRefused()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        FakeFile shard = repo.Files["model-00002-of-00002.safetensors"];
        bed.Hub.Faults.Add(new Fault("/lfs/" + shard.Sha256, FaultKind.Longer, Times: 1));

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));

        Assert.Contains($"more than the {shard.Content.Length} bytes", e.Message, StringComparison.Ordinal);
        AssertCacheConsistent(bed, repo);
    }

    [Fact]
    public async Task FewerBytesThanAnnouncedAreRefused()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        // The metadata announces the whole file; the body is ten bytes short, and says so in its own Content-Length.
        FakeFile shard = repo.Files["model-00001-of-00002.safetensors"];
        bed.Hub.Faults.Add(new Fault("/lfs/" + shard.Sha256, FaultKind.Shorter, Times: 1));

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));

        Assert.Contains($"sent {shard.Content.Length - 10} bytes, the hub announced {shard.Content.Length}", e.Message, StringComparison.Ordinal);
        Assert.Equal($"{repo.Id}/model-00001-of-00002.safetensors", e.File);
        AssertCacheConsistent(bed, repo);
    }

    [Fact]
    public async Task AListingThatDisagreesWithTheFileIsRefused()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: new HubOptions
        {
            Endpoint = bed.Hub.Endpoint, CacheDir = bed.CacheDir, Token = "", Offline = false,
            HttpHandler = new Rewrite(r => r.Headers.Contains("X-Linked-Size"), r =>
            {
                r.Headers.Remove("X-Linked-Size");
                r.Headers.TryAddWithoutValidation("X-Linked-Size", "12");
            }),
        }));
        Assert.Contains("the listing gives", e.Message, StringComparison.Ordinal);
        Assert.Contains("metadata 12", e.Message, StringComparison.Ordinal);
        AssertCacheConsistent(bed, repo);
    }

    [Fact]
    public async Task PathTraversalInTheListingIsRefused()
    {
        foreach (string hostile in new[] { "../../evil.json", "/etc/passwd", "a/../../b.json", "sub\\..\\..\\x", "./config.json", "a//b" })
        {
            FakeRepo repo = FakeModels.Sharded();
            repo.ExtraListed.Add(hostile);
            await using var bed = await HubTestBed.StartAsync(repo);

            var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));

            Assert.Equal(ErrorKind.Hub, e.Kind);
            Assert.Contains($"'{hostile}'", e.Message, StringComparison.Ordinal);
            Assert.Contains("would leave the model folder", e.Message, StringComparison.Ordinal);
            Assert.Single(bed.Hub.Requests); // nothing fetched after the listing
            Assert.False(Directory.Exists(Path.Combine(bed.RepoFolder(repo.Id), "snapshots")));
        }
    }

    [Fact]
    public async Task PathTraversalInAShardIndexIsRefused()
    {
        FakeRepo repo = FakeModels.Sharded();
        repo.Files["model.safetensors.index.json"] = FakeModels.Text("""{"weight_map": {"a.weight": "../../../outside.safetensors"}}""");
        await using var bed = await HubTestBed.StartAsync(repo);

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));

        Assert.Equal(ErrorKind.BadCheckpoint, e.Kind);
        Assert.Equal("model.safetensors.index.json", e.File);
        Assert.Equal("weight_map.a.weight", e.Field);
        Assert.False(File.Exists(Path.Combine(bed.CacheDir, "outside.safetensors")));
    }

    [Fact]
    public async Task PathTraversalInModulesJsonIsRefused()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        repo.Files["modules.json"] = FakeModels.Text("""[{"idx": 1, "path": "../../1_Pooling", "type": "sentence_transformers.models.Pooling"}]""");
        await using var bed = await HubTestBed.StartAsync(repo);

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));

        Assert.Equal(ErrorKind.BadConfig, e.Kind);
        Assert.Equal("modules.json", e.File);
        Assert.Equal("[0].path", e.Field);
    }

    [Fact]
    public async Task AHostileEtagIsRefused()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        var evil = new EvilEtagHandler();

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: new HubOptions
        {
            Endpoint = bed.Hub.Endpoint, CacheDir = bed.CacheDir, Token = "", Offline = false, HttpHandler = evil,
        }));

        Assert.Contains("is not a plain file name", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.EnumerateFiles(bed.CacheDir, "*", SearchOption.AllDirectories),
            f => f.Contains("evil", StringComparison.Ordinal));
    }

    /// <summary>Rewrites every ETag to a path that would climb out of blobs/.</summary>
    sealed class EvilEtagHandler() : DelegatingHandler(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.Contains("ETag"))
            {
                response.Headers.Remove("ETag");
                response.Headers.TryAddWithoutValidation("ETag", "\"../../../evil\"");
            }
            return response;
        }
    }

    [Fact]
    public async Task ARenamedRepositoryIsFollowedThroughRelativeRedirects()
    {
        FakeRepo repo = FakeModels.Sharded("new-org/model");
        await using var bed = await HubTestBed.StartAsync(repo);
        bed.Hub.Renames["old-org/model"] = "new-org/model";

        string folder = await ModelSource.ResolveAsync("old-org/model", options: bed.Options());

        // Cached under the name asked for, as huggingface_hub does.
        Assert.Equal(Path.Combine(bed.RepoFolder("old-org/model"), "snapshots", repo.Commit), folder);
        Assert.Equal(repo.Files["config.json"].Content, File.ReadAllBytes(Path.Combine(folder, "config.json")));
        Assert.Contains(bed.Hub.Requests, r => r.Path.StartsWith("/old-org/model/resolve/", StringComparison.Ordinal));
        Assert.Contains(bed.Hub.Requests, r => r.Path.StartsWith("/new-org/model/resolve/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AServerThatIsNotAHubIsNamedAsSuch()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: new HubOptions
        {
            Endpoint = bed.Hub.Endpoint, CacheDir = bed.CacheDir, Token = "", Offline = false, HttpHandler = new DropHeader("X-Repo-Commit"),
        }));
        Assert.Contains("does not look like a Hugging Face hub", e.Message, StringComparison.Ordinal);
    }

    sealed class DropHeader(string name) : Rewrite(_ => true, r => r.Headers.Remove(name));

    /// <summary>Changes answers on their way to the client, where <c>when</c> holds.</summary>
    class Rewrite(Func<HttpResponseMessage, bool> when, Action<HttpResponseMessage> change)
        : DelegatingHandler(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            if (when(response)) change(response);
            return response;
        }
    }
}
