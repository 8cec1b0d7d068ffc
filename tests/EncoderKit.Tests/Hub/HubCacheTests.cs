using EncoderKit.Hub;

namespace EncoderKit.Tests.Hub;

/// <summary>Listing and removing cached models.</summary>
public class HubCacheTests
{
    [Fact]
    public async Task ListsModelsWithSizesAndRevisions()
    {
        FakeRepo bert = FakeModels.SentenceBert();
        FakeRepo sharded = FakeModels.Sharded();
        sharded.Refs.Add("v1");
        await using var bed = await HubTestBed.StartAsync(bert, sharded);
        await ModelSource.ResolveAsync(bert.Id, options: bed.Options());
        await ModelSource.ResolveAsync(sharded.Id, options: bed.Options());
        await ModelSource.ResolveAsync(sharded.Id + "@v1", options: bed.Options());

        IReadOnlyList<CachedModel> models = HubCache.List(bed.Options());

        Assert.Equal([sharded.Id, bert.Id], models.Select(m => m.RepoId)); // by folder name
        CachedModel s = models[0];
        Assert.Equal(sharded.Files.Values.Sum(f => (long)f.Content.Length), s.Size);
        CachedRevision revision = Assert.Single(s.Revisions);
        Assert.Equal(sharded.Commit, revision.Commit);
        Assert.Equal(["main", "v1"], revision.Refs);
        Assert.Equal(sharded.Files.Count, revision.Files);
        Assert.Equal(s.Size, revision.Size);
    }

    [Fact]
    public async Task RemovesAModelAndItsLocks()
    {
        FakeRepo bert = FakeModels.SentenceBert();
        FakeRepo sharded = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(bert, sharded);
        await ModelSource.ResolveAsync(bert.Id, options: bed.Options());
        await ModelSource.ResolveAsync(sharded.Id, options: bed.Options());

        long freed = HubCache.Remove(sharded.Id, bed.Options());

        Assert.Equal(sharded.Files.Values.Sum(f => (long)f.Content.Length), freed);
        Assert.False(Directory.Exists(bed.RepoFolder(sharded.Id)));
        Assert.False(Directory.Exists(Path.Combine(bed.CacheDir, ".locks", "models--org--sharded-bert")));
        Assert.Equal([bert.Id], HubCache.List(bed.Options()).Select(m => m.RepoId));
        var e = Assert.Throws<EncoderKitException>(() => HubCache.Remove(sharded.Id, bed.Options()));
        Assert.Equal(ErrorKind.MissingFile, e.Kind);
    }

    [Fact]
    public async Task RemovesOneRevisionAndTheBlobsOnlyItUsed()
    {
        FakeRepo repo = FakeModels.Sharded();
        await using var bed = await HubTestBed.StartAsync(repo);
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        // A second, older revision sharing all but one blob, as Python would have left it.
        string root = bed.RepoFolder(repo.Id);
        const string old = "1111111111111111111111111111111111111111";
        File.WriteAllText(Path.Combine(root, "refs", "v0"), old);
        File.WriteAllText(Path.Combine(root, "blobs", "oldconfig"), "{}");
        Directory.CreateDirectory(Path.Combine(root, "snapshots", old));
        File.CreateSymbolicLink(Path.Combine(root, "snapshots", old, "config.json"), "../../blobs/oldconfig");
        File.CreateSymbolicLink(Path.Combine(root, "snapshots", old, "vocab.txt"), "../../blobs/" + repo.Files["vocab.txt"].Etag);

        long freed = HubCache.Remove(repo.Id + "@v0", bed.Options());

        Assert.Equal(2, freed);
        Assert.False(File.Exists(Path.Combine(root, "blobs", "oldconfig")));
        Assert.True(File.Exists(Path.Combine(root, "blobs", repo.Files["vocab.txt"].Etag)));
        Assert.False(File.Exists(Path.Combine(root, "refs", "v0")));
        Assert.Equal(repo.Commit, Assert.Single(Assert.Single(HubCache.List(bed.Options())).Revisions).Commit);
        bed.Hub.Requests.Clear();
        await ModelSource.ResolveAsync(repo.Id, options: bed.Options());
        Assert.Empty(bed.Hub.Requests);
    }
}
