using EncoderKit.Hub;

namespace EncoderKit.Tests.Hub;

/// <summary>Several resolves of the same model at once share the cache without corrupting it.</summary>
public class HubConcurrencyTests
{
    [Fact]
    public async Task ConcurrentResolvesOfOneModelDownloadEachBlobOnce()
    {
        FakeRepo repo = FakeModels.SentenceBert();
        await using var bed = await HubTestBed.StartAsync(repo);

        string[] folders = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            Task.Run(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()))));

        Assert.All(folders, f => Assert.Equal(folders[0], f));
        foreach (string file in new[] { "config.json", "model.safetensors", "2_Dense/model.safetensors", "1_Pooling/config.json" })
            Assert.Equal(repo.Files[file].Content, File.ReadAllBytes(Path.Combine(folders[0], file)));
        // Each blob's lock lets one task download it; the others find it in place.
        Assert.Equal(1, bed.Hub.Count("GET", "/lfs/" + repo.Files["model.safetensors"].Sha256));
        Assert.Equal(1, bed.Hub.Count("GET", $"/resolve/{repo.Commit}/config.json"));
        Assert.DoesNotContain(bed.CacheEntries(), e => e.EndsWith(".incomplete", StringComparison.Ordinal) || e.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADownloadWaitsForAnotherHolderOfTheBlobLock()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        FakeFile config = repo.Files["config.json"];
        string lockPath = Path.Combine(bed.CacheDir, ".locks", "models--org--sharded-bert", config.Etag + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);

        Task<string> resolve;
        // Another process (Python's filelock takes the same flock) holds the lock and writes the blob meanwhile.
        using (var held = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            resolve = Task.Run(() => ModelSource.ResolveAsync(repo.Id, options: bed.Options()));
            while (bed.Hub.Count("HEAD", "/config.json") == 0 && !resolve.IsCompleted) await Task.Delay(10);
            string blobs = Path.Combine(bed.RepoFolder(repo.Id), "blobs");
            Directory.CreateDirectory(blobs);
            File.WriteAllBytes(Path.Combine(blobs, config.Etag), config.Content);
            Assert.False(resolve.IsCompleted && resolve.IsFaulted, resolve.Exception?.ToString());
        }
        string folder = await resolve;

        Assert.Equal(config.Content, File.ReadAllBytes(Path.Combine(folder, "config.json")));
        Assert.Equal(0, bed.Hub.Count("GET", "/config.json")); // it used the blob the lock holder wrote
    }
}
