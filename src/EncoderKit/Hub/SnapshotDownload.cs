using Microsoft.Extensions.Logging;

namespace EncoderKit.Hub;

/// <summary>
/// Brings one revision of a repository into the cache, as huggingface_hub's <c>snapshot_download</c> does: the
/// revision is resolved to a commit and recorded in <c>refs/</c>, then each file the model needs is fetched by
/// commit (so nothing moves under it), then the snapshot folder is returned.
/// </summary>
internal static class SnapshotDownload
{
    public static async Task<string> ResolveAsync(HubSettings settings, HubReference reference, CancellationToken cancellationToken)
    {
        HubOptions o = settings.Options;
        ILogger log = settings.Logger;
        var cache = new RepoCache(settings.CacheDir, reference.RepoId);
        var files = new ModelFiles(o.AllowPickleWeights, o.Files);
        string? cachedCommit = cache.CommitFor(reference.Revision);

        if (settings.Offline)
        {
            if (cachedCommit is null)
                throw Offline(reference, $"revision '{reference.Revision}' has never been fetched", cache.RefPath(reference.Revision));
            string? missing = files.FirstMissing(cache, cachedCommit, strict: false);
            if (missing is null) return cache.SnapshotDir(cachedCommit);
            throw Offline(reference, missing.Length == 0 ? "the snapshot is not in the cache" : "the file is not in the cache",
                missing.Length == 0 ? cache.SnapshotDir(cachedCommit) : cache.PointerPath(cachedCommit, missing));
        }

        if (cachedCommit is not null && !o.CheckForUpdates && files.FirstMissing(cache, cachedCommit, strict: true) is null)
        {
            log.LogDebug("{Repo}@{Revision}: complete in the cache at {Commit}", reference.RepoId, reference.Revision, cachedCommit);
            return cache.SnapshotDir(cachedCommit);
        }

        var client = new HubClient(settings);
        RepoInfo info;
        try
        {
            info = await client.GetRepoInfoAsync(reference.RepoId, reference.Revision, cancellationToken).ConfigureAwait(false);
        }
        catch (EncoderKitException e) when (e.Kind == ErrorKind.Unreachable || e.InnerException is TransientHubException)
        {
            // The hub cannot be reached but the cache has what the model needs: use it, as huggingface_hub does (a
            // snapshot Python wrote has no .no_exist markers, hence not strict).
            if (cachedCommit is not null && files.FirstMissing(cache, cachedCommit, strict: false) is null)
            {
                log.LogWarning("{Problem}; using the cached snapshot {Commit}", e.Message, cachedCommit);
                return cache.SnapshotDir(cachedCommit);
            }
            if (e.Kind != ErrorKind.Unreachable) throw;
            throw new EncoderKitException(ErrorKind.Unreachable,
                $"{e.Problem}, and {reference.RepoId} is not {(cachedCommit is null ? "" : "complete ")}in the cache; to work offline, set HF_HUB_OFFLINE=1 once the model is "
                + "cached, or give a local model folder", file: e.Field, inner: e);
        }

        string commit = info.Commit;
        cache.WriteRef(reference.Revision, commit);
        var listing = new HashSet<string>(info.Files.Keys, StringComparer.Ordinal);
        List<string> first = files.FirstPass(reference.RepoId, commit, listing);
        if (o.Files is null)
            foreach (string absent in ModelFiles.OptionalFiles.Where(f => !listing.Contains(f)))
                cache.MarkAbsent(commit, absent);

        foreach (string file in first)
            await client.FetchFileAsync(cache, commit, info.Files[file], cancellationToken).ConfigureAwait(false);
        foreach (string file in files.SecondPass(cache, commit, listing))
            await client.FetchFileAsync(cache, commit, info.Files[file], cancellationToken).ConfigureAwait(false);

        Directory.CreateDirectory(cache.SnapshotDir(commit));
        if (o.Files is null && files.FirstMissing(cache, commit, strict: false) is { } lacking)
            throw new EncoderKitException(ErrorKind.MissingFile, $"the repository has no such file at commit {commit}, and the model needs it",
                file: $"{reference.RepoId}/{lacking}");
        return cache.SnapshotDir(commit);
    }

    static EncoderKitException Offline(HubReference reference, string problem, string file) =>
        new(ErrorKind.MissingFile,
            $"{problem}, and offline mode is on (HF_HUB_OFFLINE); fetch {reference.RepoId} once online or give a local model folder",
            file: file);
}
