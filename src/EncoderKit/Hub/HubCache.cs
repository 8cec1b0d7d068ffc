namespace EncoderKit.Hub;

/// <summary>A model in the hub cache: its id, folder, the bytes its blobs take, and the revisions it holds.</summary>
public sealed record CachedModel(string RepoId, string Folder, long Size, IReadOnlyList<CachedRevision> Revisions);

/// <summary>One snapshot: its commit, the branches or tags pointing to it, its folder, file count and size.</summary>
public sealed record CachedRevision(string Commit, IReadOnlyList<string> Refs, string Folder, int Files, long Size);

/// <summary>Looks into the hub cache and removes from it (the CLI's <c>encoderkit cache</c>).</summary>
public static class HubCache
{
    /// <summary>The cache folder the options (or the environment) name.</summary>
    public static string Folder(HubOptions? options = null) => HubSettings.From(WithoutToken(options)).CacheDir;

    /// <summary>Every model in the cache, by id. Datasets and spaces are left out.</summary>
    public static IReadOnlyList<CachedModel> List(HubOptions? options = null)
    {
        string root = Folder(options);
        if (!Directory.Exists(root)) return [];
        var models = new List<CachedModel>();
        foreach (string folder in Directory.EnumerateDirectories(root, "models--*").Order(StringComparer.Ordinal))
        {
            string repoId = Path.GetFileName(folder)["models--".Length..].Replace("--", "/", StringComparison.Ordinal);
            models.Add(Describe(new RepoCache(root, repoId)));
        }
        return models;
    }

    /// <summary>
    /// Removes <paramref name="model"/> (<c>org/name</c>) from the cache, or only one revision of it
    /// (<c>org/name@rev</c>): its snapshot, the refs pointing there, and the blobs no other snapshot uses.
    /// Returns the bytes freed.
    /// </summary>
    public static long Remove(string model, HubOptions? options = null)
    {
        bool oneRevision = model.Contains('@');
        HubReference reference = HubReference.Parse(model, null);
        string root = Folder(options);
        var cache = new RepoCache(root, reference.RepoId);
        if (!Directory.Exists(cache.Folder))
            throw new EncoderKitException(ErrorKind.MissingFile, $"{reference.RepoId} is not in the cache", file: cache.Folder);
        CachedModel before = Describe(cache);

        if (oneRevision)
        {
            string commit = cache.CommitFor(reference.Revision) ?? "";
            CachedRevision revision = before.Revisions.FirstOrDefault(r => r.Commit == commit)
                ?? throw new EncoderKitException(ErrorKind.MissingFile, $"revision '{reference.Revision}' of {reference.RepoId} is not in the cache",
                    file: commit.Length == 0 ? cache.RefPath(reference.Revision) : cache.SnapshotDir(commit));
            if (before.Revisions.Count > 1)
            {
                foreach (string refName in revision.Refs) File.Delete(cache.RefPath(refName));
                DeleteFolder(cache.SnapshotDir(commit));
                DeleteFolder(Path.Combine(cache.Folder, ".no_exist", commit));
                var used = new HashSet<string>(StringComparer.Ordinal);
                foreach (string snapshot in SnapshotDirs(cache))
                    foreach ((_, string? blob, _) in SnapshotFiles(snapshot))
                        if (blob is not null) used.Add(Path.GetFullPath(blob));
                if (Directory.Exists(cache.BlobsDir))
                    foreach (string blob in Directory.EnumerateFiles(cache.BlobsDir))
                        if (!used.Contains(Path.GetFullPath(blob))) File.Delete(blob);
                return before.Size - Describe(cache).Size;
            }
            // The only revision: the whole model goes.
        }

        // The whole model: renamed first so no reader sees it half removed.
        string trash = Path.Combine(root, $".{cache.FolderName}.removing-{Guid.NewGuid():N}");
        Directory.Move(cache.Folder, trash);
        DeleteFolder(trash);
        DeleteFolder(cache.LocksDir);
        return before.Size;
    }

    static CachedModel Describe(RepoCache cache)
    {
        long size = Directory.Exists(cache.BlobsDir)
            ? Directory.EnumerateFiles(cache.BlobsDir).Sum(f => new FileInfo(f).Length) : 0;
        var refs = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        string refsDir = Path.Combine(cache.Folder, "refs");
        if (Directory.Exists(refsDir))
        {
            foreach (string refFile in Directory.EnumerateFiles(refsDir, "*", SearchOption.AllDirectories))
            {
                string name = Path.GetRelativePath(refsDir, refFile).Replace(Path.DirectorySeparatorChar, '/');
                if (Path.GetFileName(refFile).StartsWith('.')) continue; // a temporary of an atomic write
                string commit = File.ReadAllText(refFile).Trim();
                if (!refs.TryGetValue(commit, out var names)) refs[commit] = names = [];
                names.Add(name);
            }
        }
        var revisions = new List<CachedRevision>();
        foreach (string snapshot in SnapshotDirs(cache))
        {
            string commit = Path.GetFileName(snapshot);
            var blobs = new HashSet<string>(StringComparer.Ordinal);
            long revisionSize = 0;
            int count = 0;
            foreach ((string file, string? blob, long length) in SnapshotFiles(snapshot))
            {
                count++;
                if (blob is null || blobs.Add(Path.GetFullPath(blob))) revisionSize += length;
            }
            List<string> names = refs.GetValueOrDefault(commit) ?? [];
            names.Sort(StringComparer.Ordinal);
            revisions.Add(new CachedRevision(commit, names, snapshot, count, revisionSize));
        }
        return new CachedModel(cache.RepoId, cache.Folder, size, revisions);
    }

    static IEnumerable<string> SnapshotDirs(RepoCache cache)
    {
        string snapshots = Path.Combine(cache.Folder, "snapshots");
        return Directory.Exists(snapshots) ? Directory.EnumerateDirectories(snapshots).Order(StringComparer.Ordinal).ToList() : [];
    }

    // Each file of a snapshot: its path, the blob it links to (null for a plain file), and its size (0 if dangling).
    static IEnumerable<(string File, string? Blob, long Length)> SnapshotFiles(string snapshot)
    {
        foreach (string file in Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(file);
            if (info.LinkTarget is null) { yield return (file, null, info.Length); continue; }
            FileSystemInfo? target = null;
            try { target = info.ResolveLinkTarget(returnFinalTarget: true); }
            catch (IOException) { }
            yield return (file, target?.FullName, target is FileInfo { Exists: true } f ? f.Length : 0);
        }
    }

    static void DeleteFolder(string folder)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    static HubOptions WithoutToken(HubOptions? options) => new()
    {
        CacheDir = options?.CacheDir, Endpoint = options?.Endpoint, Token = "", Offline = true, Environment = options?.Environment,
    };
}
