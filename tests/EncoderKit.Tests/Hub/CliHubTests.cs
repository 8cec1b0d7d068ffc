using System.Diagnostics;

namespace EncoderKit.Tests.Hub;

/// <summary>
/// <c>encoderkit download</c> and <c>encoderkit cache</c>, run as the user runs them: a process, configured by the
/// environment (HF_ENDPOINT, HF_HUB_CACHE, HF_TOKEN), against the fake hub. On a pipe they print results only.
/// </summary>
public class CliHubTests
{
    static readonly string Cli = LocateCli();

    static string LocateCli()
    {
        // The tests run from tests/EncoderKit.Tests/bin/{Configuration}/{framework}/; the CLI builds beside them.
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = here.Name, configuration = here.Parent!.Name;
        for (DirectoryInfo? dir = here; dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EncoderKit.slnx")))
                return Path.Combine(dir.FullName, "src", "EncoderKit.Cli", "bin", configuration, framework, "EncoderKit.Cli.dll");
        throw new InvalidOperationException("no EncoderKit.slnx above " + AppContext.BaseDirectory);
    }

    static async Task<(int Exit, string Out, string Err)> RunAsync(HubTestBed bed, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Cli);
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (string name in start.Environment.Keys.Where(k => k.StartsWith("HF_", StringComparison.Ordinal) || k.StartsWith("HUGGING", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);
        start.Environment["HF_ENDPOINT"] = bed.Hub.Endpoint;
        start.Environment["HF_HUB_CACHE"] = bed.CacheDir;
        start.Environment["HF_HOME"] = Path.Combine(bed.CacheDir, "home"); // no token file
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(), error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2)); // a hang fails the test rather than the run
        await process.WaitForExitAsync(limit.Token);
        return (process.ExitCode, await output, await error);
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

    [Fact]
    public async Task TwoProcessesDownloadingOneModelShareTheCache()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        repo.Files["model.safetensors"] = FakeModels.Weights(3_000_000, seed: 9);
        await using var bed = await HubTestBed.StartAsync(repo);

        var results = await Task.WhenAll(RunAsync(bed, "download", repo.Id), RunAsync(bed, "download", repo.Id));

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
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Cli);
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["HF_ENDPOINT"] = bed.Hub.Endpoint;
        start.Environment["HF_HUB_CACHE"] = bed.CacheDir;
        start.Environment["HF_HUB_OFFLINE"] = "1";
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(), error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(limit.Token);
        Assert.DoesNotContain(bed.Hub.Requests, r => r.Path.Contains("org/other", StringComparison.Ordinal));
        return (process.ExitCode, await output, await error);
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
