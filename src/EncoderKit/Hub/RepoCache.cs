namespace EncoderKit.Hub;

/// <summary>
/// One repository's folder in the hub cache, exactly as <c>huggingface_hub</c> lays it out:
/// <code>
/// {cache}/models--{org}--{name}/blobs/{etag}                  file contents, named by git sha1 or sha256
///                               refs/{revision}              the commit hash a branch or tag points to (no newline)
///                               snapshots/{commit}/{path}    relative symlinks into ../../blobs
///                               .no_exist/{commit}/{path}    empty files: known to be absent at that commit
/// {cache}/.locks/models--{org}--{name}/{etag}.lock           held while a blob is being written
/// </code>
/// </summary>
internal sealed class RepoCache(string cacheDir, string repoId)
{
    public string CacheDir { get; } = cacheDir;
    public string RepoId { get; } = repoId;

    /// <summary><c>models--org--name</c>: huggingface_hub's repo_folder_name for a model.</summary>
    public string FolderName { get; } = FolderNameOf(repoId);
    public string Folder => Path.Combine(CacheDir, FolderName);
    public string BlobsDir => Path.Combine(Folder, "blobs");
    public string LocksDir => Path.Combine(CacheDir, ".locks", FolderName);

    public static string FolderNameOf(string repoId) => "models--" + repoId.Replace("/", "--", StringComparison.Ordinal);

    public string SnapshotDir(string commit) => Path.Combine(Folder, "snapshots", commit);
    public string RefPath(string revision) => Path.Combine(Folder, "refs", Local(revision));
    public string BlobPath(string etag) => Path.Combine(BlobsDir, etag);
    public string LockPath(string etag) => Path.Combine(LocksDir, etag + ".lock");
    public string PointerPath(string commit, string file) => Path.Combine(SnapshotDir(commit), Local(file));
    public string NoExistPath(string commit, string file) => Path.Combine(Folder, ".no_exist", commit, Local(file));

    static string Local(string repoPath) => repoPath.Replace('/', Path.DirectorySeparatorChar);

    /// <summary>The commit a branch or tag was last seen at, or the revision itself when it is a commit hash.</summary>
    public string? CommitFor(string revision)
    {
        if (HubReference.IsCommitHash(revision)) return revision;
        string path = RefPath(revision);
        if (!File.Exists(path)) return null;
        string commit = File.ReadAllText(path).Trim();
        return HubReference.IsCommitHash(commit) ? commit
            : throw new EncoderKitException(ErrorKind.Hub, "is not a commit hash; delete it and fetch again", file: path);
    }

    /// <summary>Records that <paramref name="revision"/> points to <paramref name="commit"/> (atomically; unchanged refs are left alone).</summary>
    public void WriteRef(string revision, string commit)
    {
        if (revision == commit) return;
        string path = RefPath(revision);
        if (File.Exists(path) && File.ReadAllText(path) == commit) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        IO.AtomicFile.WriteAllText(path, commit);
    }

    /// <summary>True when <paramref name="file"/> is in the snapshot and, if a link, its target exists.</summary>
    public bool HasFile(string commit, string file) => ExistsFollowingLinks(PointerPath(commit, file));

    public bool KnownAbsent(string commit, string file) => File.Exists(NoExistPath(commit, file));

    /// <summary>Marks a file as absent at a commit, as huggingface_hub does after a 404 (an empty file).</summary>
    public void MarkAbsent(string commit, string file)
    {
        string path = NoExistPath(commit, file);
        if (File.Exists(path)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Shared, not File.Create: that takes an exclusive lock, and two resolves may mark the same file at once.
        using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) { }
    }

    /// <summary>
    /// Puts <c>snapshots/{commit}/{file}</c> in place as a relative link to the blob, replacing whatever was there in
    /// one rename, so a reader sees the old entry or the new one and never a half-made one. Where links cannot be
    /// made (Windows without the right), the blob is copied, as huggingface_hub does.
    /// </summary>
    public void LinkIntoSnapshot(string commit, string file, string etag)
    {
        string pointer = PointerPath(commit, file);
        string blob = BlobPath(etag);
        EnsureNoLinkedFolders(commit, file);
        string folder = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(folder);
        string relative = Path.GetRelativePath(folder, blob);
        if (new FileInfo(pointer).LinkTarget == relative && File.Exists(blob)) return;

        string temp = Path.Combine(folder, $".{Path.GetFileName(pointer)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.CreateSymbolicLink(temp, relative);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException && OperatingSystem.IsWindows())
        {
            File.Copy(blob, temp);
        }
        try
        {
            File.Move(temp, pointer, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>
    /// Refuses to write through a folder of the snapshot that is a link: a file name is confined by its text, and the
    /// folders on its way must not lead elsewhere either.
    /// </summary>
    void EnsureNoLinkedFolders(string commit, string file)
    {
        string dir = SnapshotDir(commit);
        string[] segments = file.Split('/');
        for (int i = 0; i < segments.Length - 1; i++)
        {
            dir = Path.Combine(dir, segments[i]);
            if (new DirectoryInfo(dir).LinkTarget is not null)
                throw new EncoderKitException(ErrorKind.Hub, "a folder of the snapshot is a link; refusing to write through it", file: dir);
        }
    }

    public static bool ExistsFollowingLinks(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null) return info.Exists;
        try
        {
            return info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true };
        }
        catch (IOException)
        {
            return false; // a link loop
        }
    }
}
