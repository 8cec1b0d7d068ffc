using System.Text;
using EncoderKit.Hub;

namespace EncoderKit.Tests.Hub;

/// <summary>Loading by hub id, the cache layout huggingface_hub shares, and use without the network.</summary>
public class ModelSourceTests
{
    static readonly string[] NeededFiles =
    [
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
        "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
        "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors",
    ];

    [Fact]
    public async Task LoadsByHubIdOnlyTheFilesTheModelNeeds()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);

        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());

        Assert.Equal(Path.Combine(bed.RepoFolder(repo.Id), "snapshots", repo.Commit), folder);
        foreach (string file in NeededFiles)
            Assert.Equal(repo.Files[file].Content, File.ReadAllBytes(Path.Combine(folder, file)));
        var present = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/')).Order(StringComparer.Ordinal);
        Assert.Equal(NeededFiles.Order(StringComparer.Ordinal), present); // no README, pickle, ONNX, .gitattributes
    }

    [Fact]
    public async Task WritesTheCacheExactlyAsHuggingfaceHubDoes()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options());

        string root = bed.RepoFolder(repo.Id);
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(root, "refs", "main"))); // the hash alone, no newline
        foreach (string file in NeededFiles)
        {
            var link = new FileInfo(Path.Combine(root, "snapshots", repo.Commit, file));
            string up = string.Concat(Enumerable.Repeat("../", 2 + file.Count(c => c == '/')));
            Assert.Equal($"{up}blobs/{repo.Files[file].Etag}", link.LinkTarget); // relative link into blobs/, named by ETag
            Assert.True(File.Exists(Path.Combine(root, "blobs", repo.Files[file].Etag)));
        }
        // LFS blobs are named by sha256, the others by git blob sha1.
        Assert.Equal(64, repo.Files["model.safetensors"].Etag.Length);
        Assert.Equal(40, repo.Files["config.json"].Etag.Length);
        Assert.True(File.Exists(Path.Combine(bed.CacheDir, ".locks", "models--org--tiny-bert", repo.Files["config.json"].Etag + ".lock")));
        // Files the model could have had but the repo lacks are marked, as huggingface_hub marks a 404.
        Assert.True(File.Exists(Path.Combine(root, ".no_exist", repo.Commit, "merges.txt")));
        Assert.DoesNotContain(bed.CacheEntries(), e => e.EndsWith(".incomplete", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SecondResolveMakesNoRequest()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        string first = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        int requests = bed.Hub.Requests.Count;
        Assert.True(requests > 0);

        string second = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        string third = await ModelSource.ResolveAsync(repo.Id + "@main", options: bed.Options());
        string byCommit = await ModelSource.ResolveAsync(repo.Id, revision: repo.Commit, options: bed.Options());

        Assert.Equal(first, second);
        Assert.Equal(first, third);
        Assert.Equal(first, byCommit);
        Assert.Equal(requests, bed.Hub.Requests.Count);
    }

    [Fact]
    public async Task CheckForUpdatesAsksTheHubButDownloadsNothingAgain()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        bed.Hub.Requests.Clear();

        await ModelSource.ResolveAsync(repo.Id, options: bed.Options(checkForUpdates: true));

        Assert.Equal(1, bed.Hub.Count("GET", "/api/models/"));
        Assert.Single(bed.Hub.Requests);
    }

    [Fact]
    public async Task RequestsAreTheHubsRoutes()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options());

        Assert.Equal(1, bed.Hub.Count("GET", $"/api/models/{repo.Id}/revision/main"));
        Assert.Equal(1, bed.Hub.Count("HEAD", $"/{repo.Id}/resolve/{repo.Commit}/config.json"));
        Assert.Equal(1, bed.Hub.Count("GET", $"/{repo.Id}/resolve/{repo.Commit}/config.json"));
        // LFS files: HEAD on resolve gives the redirect; the GET goes straight to the blob store.
        Assert.Equal(1, bed.Hub.Count("HEAD", $"/{repo.Id}/resolve/{repo.Commit}/model.safetensors"));
        Assert.Equal(0, bed.Hub.Count("GET", $"/{repo.Id}/resolve/{repo.Commit}/model.safetensors"));
        Assert.Equal(1, bed.Hub.Count("GET", "/lfs/" + repo.Files["model.safetensors"].Sha256));
        Assert.Equal(0, bed.Hub.Count(r => r.Path.Contains("README", StringComparison.Ordinal) || r.Path.Contains(".bin", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ShardedWeightsBringEveryShard()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());

        foreach (string file in new[] { "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" })
            Assert.Equal(repo.Files[file].Content, File.ReadAllBytes(Path.Combine(folder, file)));
        bed.Hub.Requests.Clear();
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        Assert.Empty(bed.Hub.Requests);
    }

    [Fact]
    public async Task TheReferenceBertLoadsByHubIdByteForByte()
    {
        FakeRepo repo = FakeModels.ReferenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        string folder = await ModelSource.ResolveAsync("google-bert/bert-base-cased", options: bed.Options());

        string reference = ReferenceData.Model("bert");
        Assert.Equal(File.ReadAllBytes(Path.Combine(reference, "model.safetensors")), File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(reference, "config.json")), File.ReadAllBytes(Path.Combine(folder, "config.json")));
    }

    [Fact]
    public async Task AnIdWithoutOrganisationIsCachedUnderItsName()
    {
        FakeRepo repo = FakeModels.Sharded("bert-base-cased");
        await using var bed = await HubTestBed.StartAsync(repo);
        string folder = await ModelSource.ResolveAsync("bert-base-cased", options: bed.Options());
        Assert.StartsWith(Path.Combine(bed.CacheDir, "models--bert-base-cased", "snapshots"), folder);
    }

    [Fact]
    public async Task ATagIsRecordedInRefs()
    {
        FakeRepo repo = FakeModels.Sharded();
        repo.Refs.Add("v1.0");
        await using var bed = await HubTestBed.StartAsync(repo);
        await ModelSource.ResolveAsync(repo.Id + "@v1.0", options: bed.Options());
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(bed.RepoFolder(repo.Id), "refs", "v1.0")));
        Assert.False(File.Exists(Path.Combine(bed.RepoFolder(repo.Id), "refs", "main")));
    }

    [Fact]
    public async Task ALocalFolderIsReturnedAsItIs()
    {
        string folder = Path.Combine(Path.GetTempPath(), "encoderkit-hub-tests", Guid.NewGuid().ToString("N"), "org", "name");
        Directory.CreateDirectory(folder);
        try
        {
            // An existing folder wins even when its path reads like a hub id, and nothing is asked of any hub.
            string relative = Path.GetRelativePath(Environment.CurrentDirectory, folder);
            Assert.Equal(folder, await ModelSource.ResolveAsync(folder, options: new HubOptions { Endpoint = "http://127.0.0.1:9", Offline = false }));
            Assert.Equal(folder, await ModelSource.ResolveAsync(relative));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(Path.GetDirectoryName(folder)!)!, recursive: true);
        }
    }

    [Fact]
    public async Task AMissingFolderPathIsNotTakenForAHubId()
    {
        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync("./no/such/model"));
        Assert.Equal(ErrorKind.MissingFile, e.Kind);
        Assert.Equal("./no/such/model", e.File);
    }

    [Fact]
    public async Task OfflineModeWorksFromTheCacheWithoutTouchingTheNetwork()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        string online = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        bed.Hub.Requests.Clear();

        // Offline even when the snapshot would not count as complete online (CheckForUpdates asks the hub).
        string offline = await ModelSource.ResolveAsync(repo.Id, options: bed.Options(offline: true, checkForUpdates: true));

        Assert.Equal(online, offline);
        Assert.Empty(bed.Hub.Requests);
    }

    [Fact]
    public async Task OfflineModeNamesWhatIsMissing()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);

        var never = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options(offline: true)));
        Assert.Equal(ErrorKind.MissingFile, never.Kind);
        Assert.Equal(Path.Combine(bed.RepoFolder(repo.Id), "refs", "main"), never.File);
        Assert.Contains("offline", never.Message, StringComparison.Ordinal);

        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        File.Delete(Path.Combine(folder, "2_Dense", "model.safetensors"));
        var lacking = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options(offline: true)));
        Assert.Equal(Path.Combine(folder, "2_Dense", "model.safetensors"), lacking.File);
    }

    [Fact]
    public async Task OnlineARemovedLinkIsFetchedAgainFromTheBlob()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        File.Delete(Path.Combine(folder, "model.safetensors"));
        bed.Hub.Requests.Clear();

        await ModelSource.ResolveAsync(repo.Id, options: bed.Options());

        Assert.Equal(repo.Files["model.safetensors"].Content, File.ReadAllBytes(Path.Combine(folder, "model.safetensors")));
        Assert.Equal(0, bed.Hub.Count(r => r.Path.StartsWith("/lfs/", StringComparison.Ordinal))); // the blob was still there
    }

    [Fact]
    public async Task ACacheLaidOutByHandAsHuggingfaceHubWritesItIsUsedAsIs()
    {
        FakeRepo repo = FakeModels.Sharded("org/python-made");
        await using var bed = await HubTestBed.StartAsync(repo);
        // What `snapshot_download("org/python-made")` leaves: blobs by ETag, refs/main, relative links, no .no_exist.
        string root = bed.RepoFolder(repo.Id);
        Directory.CreateDirectory(Path.Combine(root, "blobs"));
        Directory.CreateDirectory(Path.Combine(root, "refs"));
        File.WriteAllText(Path.Combine(root, "refs", "main"), repo.Commit);
        foreach ((string name, FakeFile file) in repo.Files)
        {
            File.WriteAllBytes(Path.Combine(root, "blobs", file.Etag), file.Content);
            string link = Path.Combine(root, "snapshots", repo.Commit, name);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, "../../blobs/" + file.Etag);
        }
        Directory.CreateDirectory(Path.Combine(bed.CacheDir, ".locks", "models--org--python-made"));

        string offline = await ModelSource.ResolveAsync(repo.Id, options: bed.Options(offline: true));
        Assert.Equal(Path.Combine(root, "snapshots", repo.Commit), offline);
        Assert.Empty(bed.Hub.Requests);

        // Online, one look at the listing confirms nothing is missing; no file is fetched, and then no request at all.
        string online = await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        Assert.Equal(offline, online);
        Assert.Single(bed.Hub.Requests);
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        Assert.Single(bed.Hub.Requests);
        foreach ((string name, FakeFile file) in repo.Files)
            Assert.Equal("../../blobs/" + file.Etag, new FileInfo(Path.Combine(online, name)).LinkTarget);
    }

    [Fact]
    public async Task PickleWeightsAreRefusedUnlessAllowed()
    {
        FakeRepo repo = FakeModels.PickleOnly();
        await using var bed = await HubTestBed.StartAsync(repo);

        var e = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));
        Assert.Equal(ErrorKind.BadCheckpoint, e.Kind);
        Assert.Contains("pickle", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, bed.Hub.Count(r => r.Path.EndsWith(".bin", StringComparison.Ordinal)));

        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options(allowPickle: true));
        Assert.Equal(repo.Files["pytorch_model.bin"].Content, File.ReadAllBytes(Path.Combine(folder, "pytorch_model.bin")));
    }

    [Fact]
    public async Task ShardedPickleWeightsComeWhole()
    {
        var repo = new FakeRepo("org/sharded-pickle", new()
        {
            ["config.json"] = FakeModels.Text("""{"model_type": "bert"}"""),
            ["vocab.txt"] = FakeModels.Text("[PAD]\n"),
            ["pytorch_model.bin.index.json"] = FakeModels.Text("""{"weight_map": {"a": "pytorch_model-00001-of-00002.bin", "b": "pytorch_model-00002-of-00002.bin"}}"""),
            ["pytorch_model-00001-of-00002.bin"] = FakeModels.Weights(700, seed: 11),
            ["pytorch_model-00002-of-00002.bin"] = FakeModels.Weights(500, seed: 12),
        });
        await using var bed = await HubTestBed.StartAsync(repo);
        await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));

        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options(allowPickle: true));

        foreach (string shard in new[] { "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin" })
            Assert.Equal(repo.Files[shard].Content, File.ReadAllBytes(Path.Combine(folder, shard)));
        bed.Hub.Requests.Clear();
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options(allowPickle: true));
        Assert.Empty(bed.Hub.Requests);
    }

    [Fact]
    public async Task FilePatternsChooseExactlyTheFilesFetched()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);
        string folder = await ModelSource.ResolveAsync(repo.Id, options: bed.Options(files: ["*.json", "onnx/"]));

        var present = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();
        var expected = repo.Files.Keys.Where(k => k.EndsWith(".json", StringComparison.Ordinal) || k.StartsWith("onnx/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, present);
    }

    [Fact]
    public async Task ProgressIsReportedPerFile()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        var reports = new List<DownloadProgress>();
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options(progress: new Synchronous<DownloadProgress>(reports.Add)));

        foreach ((string name, FakeFile file) in repo.Files)
        {
            DownloadProgress last = reports.Last(r => r.File == name);
            Assert.True(last.Completed);
            Assert.Equal(file.Content.Length, last.BytesDone);
            Assert.Equal(file.Content.Length, last.TotalBytes);
        }
    }

    [Theory]
    [InlineData("org/name@v1", "v2")]
    [InlineData("org/na..me", null)]
    [InlineData("org/na--me", null)]
    [InlineData("org/name@../../x", null)]
    [InlineData("org/name@", null)]
    public async Task BadIdsAndRevisionsAreRefusedBeforeAnyRequest(string model, string? revision)
    {
        var e = await Assert.ThrowsAsync<EncoderKitException>(() =>
            ModelSource.ResolveAsync(model, revision, new HubOptions { Endpoint = "http://127.0.0.1:9", CacheDir = Path.GetTempPath() }));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
    }

    [Fact]
    public async Task AnUnknownRepositoryOrRevisionIsAClearError()
    {
        await using var bed = await HubTestBed.StartAsync(FakeModels.Sharded());
        var repo = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync("org/nothing", options: bed.Options()));
        Assert.Equal(ErrorKind.Hub, repo.Kind);
        Assert.Contains("not found", repo.Message, StringComparison.Ordinal);
        var revision = await Assert.ThrowsAsync<EncoderKitException>(() => ModelSource.ResolveAsync("org/sharded-bert@nope", options: bed.Options()));
        Assert.Contains("revision 'nope' not found", revision.Message, StringComparison.Ordinal);
        Assert.Equal(2, bed.Hub.Requests.Count); // a 404 is not retried
    }

    sealed class Synchronous<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
