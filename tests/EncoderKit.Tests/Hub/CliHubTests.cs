using EncoderKit.Tests.Cli;

namespace EncoderKit.Tests.Hub;

/// <summary>
/// <c>encoderkit download</c> and <c>encoderkit cache</c>, configured by the environment (HF_ENDPOINT, HF_HUB_CACHE,
/// HF_TOKEN), against the fake hub: in-process, and as two processes sharing the cache. On a pipe they print results only.
/// </summary>
public class CliHubTests
{
    static Dictionary<string, string?> HubEnvironment(HubTestBed bed) => new()
    {
        ["HF_ENDPOINT"] = bed.Hub.Endpoint,
        ["HF_HUB_CACHE"] = bed.CacheDir,
        ["HF_HOME"] = Path.Combine(bed.CacheDir, "home"), // no token file
    };

    static async Task<(int Exit, string Out, string Err)> RunAsync(HubTestBed bed, params string[] args)
    {
        var result = await CliRunner.RunAsync(args, null, HubEnvironment(bed));
        return (result.Exit, result.Out, result.Err);
    }

    /// <summary>The real binary, with only these HF_ variables (a developer's own settings left out).</summary>
    static async Task<(int Exit, string Out, string Err)> RunProcessAsync(HubTestBed bed, params string[] args)
    {
        var result = await CliProcess.RunAsync(args, null, HubEnvironment(bed), "HF_", "HUGGING");
        return (result.Exit, result.Out, result.Err);
    }

    [Fact]
    public async Task DownloadPrintsTheSnapshotFolderAndNothingElse()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);

        (int exit, string stdout, string stderr) = await RunAsync(bed, "download", repo.Id, "--revision", "main");

        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        string folder = Path.Combine(bed.RepoFolder(repo.Id), "snapshots", repo.Commit);
        Assert.Equal(folder + Environment.NewLine, stdout);
        Assert.Equal(repo.Files["model.safetensors"].Content, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
    }

    [Fact, Trait("speed", "slow")]
    public async Task TwoProcessesDownloadingOneModelShareTheCache()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        repo.Files["model.safetensors"] = FakeModels.Weights(3_000_000, seed: 9);
        await using var bed = await HubTestBed.StartAsync(repo);

        var results = await Task.WhenAll(RunProcessAsync(bed, "download", repo.Id), RunProcessAsync(bed, "download", repo.Id));

        string folder = Path.Combine(bed.RepoFolder(repo.Id), "snapshots", repo.Commit);
        Assert.All(results, r => Assert.Equal((0, folder + Environment.NewLine, ""), r));
        Assert.Equal(repo.Files["model.safetensors"].Content, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        // The blob lock (.locks/, flock) lets one process write each blob; the other finds it whole.
        Assert.Equal(1, bed.Hub.Count("GET", "/lfs/" + repo.Files["model.safetensors"].Sha256));
        Assert.DoesNotContain(bed.CacheEntries(), e => e.EndsWith(".incomplete", StringComparison.Ordinal) || e.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OfflineWithAnEmptyCacheIsOneLineAndANonZeroExit()
    {
        await using var bed = await HubTestBed.StartAsync(FakeModels.Sharded());
        var start = await RunAsync(bed, "download", "org/sharded-bert", "--cache-dir", Path.Combine(bed.CacheDir, "empty"));
        Assert.Equal(0, start.Exit); // online it works with any cache folder

        // HF_HUB_OFFLINE=1 is read from the environment.
        var psi = await RunOfflineAsync(bed, "download", "org/other");
        Assert.Equal(2, psi.Exit);
        Assert.Equal("", psi.Out);
        string line = Assert.Single(psi.Err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("encoderkit: ", line, StringComparison.Ordinal);
        Assert.Contains("offline", line, StringComparison.Ordinal);
        Assert.Contains(Path.Combine("models--org--other", "refs", "main"), line, StringComparison.Ordinal);
    }

    static async Task<(int Exit, string Out, string Err)> RunOfflineAsync(HubTestBed bed, params string[] args)
    {
        var result = await CliRunner.RunAsync(args, environment: new Dictionary<string, string?>
        {
            ["HF_ENDPOINT"] = bed.Hub.Endpoint,
            ["HF_HUB_CACHE"] = bed.CacheDir,
            ["HF_HUB_OFFLINE"] = "1",
        });
        Assert.DoesNotContain(bed.Hub.Requests, r => r.Path.Contains("org/other", StringComparison.Ordinal));
        return (result.Exit, result.Out, result.Err);
    }

    [Fact]
    public async Task CacheListsAndRemoves()
    {
        FakeRepo bert = FakeModels.SentenceBert();
        FakeRepo sharded = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(bert, sharded);
        Assert.Equal(0, (await RunAsync(bed, "download", bert.Id)).Exit);
        Assert.Equal(0, (await RunAsync(bed, "download", sharded.Id)).Exit);

        (int exit, string list, _) = await RunAsync(bed, "cache", "list");
        Assert.Equal(0, exit);
        string[] lines = list.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("org/sharded-bert", lines[0], StringComparison.Ordinal);
        Assert.Contains("3.2 kB", lines[0], StringComparison.Ordinal);
        Assert.Contains("1 revision", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"  {sharded.Commit[..12]}", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("main", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("org/tiny-bert", lines[2], StringComparison.Ordinal);

        (exit, string removed, _) = await RunAsync(bed, "cache", "remove", sharded.Id);
        Assert.Equal(0, exit);
        Assert.Equal("removed org/sharded-bert (3.2 kB)" + Environment.NewLine, removed);
        Assert.False(Directory.Exists(bed.RepoFolder(sharded.Id)));

        (exit, _, string err) = await RunAsync(bed, "cache", "remove", sharded.Id);
        Assert.Equal(2, exit);
        Assert.Contains("not in the cache", err, StringComparison.Ordinal);
    }
}
