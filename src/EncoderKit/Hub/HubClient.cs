using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EncoderKit.IO;
using Microsoft.Extensions.Logging;

namespace EncoderKit.Hub;

/// <summary>One file in a repository listing; size and sha256 when the hub gave them (sha256 for LFS files).</summary>
internal sealed record RepoFile(string Path, long? Size, string? Sha256);

/// <summary>What the hub says about a revision: the commit it is at, and the files there.</summary>
internal sealed record RepoInfo(string Commit, IReadOnlyDictionary<string, RepoFile> Files);

/// <summary>
/// The hub's routes, as huggingface_hub uses them: <c>/api/models/{id}/revision/{rev}</c> for the commit and the
/// listing, <c>/{id}/resolve/{commit}/{file}</c> for a file's metadata (HEAD) and contents (GET).
/// </summary>
internal sealed partial class HubClient(HubSettings settings)
{
    const int ListingLimit = 64 << 20;
    const int ChunkSize = 1 << 20;

    readonly HubHttp _http = new(settings);
    ILogger Log => settings.Logger;

    string Base => settings.Endpoint.AbsoluteUri.TrimEnd('/');

    /// <summary>Resolves a revision to its commit and lists the files there.</summary>
    public Task<RepoInfo> GetRepoInfoAsync(string repoId, string revision, CancellationToken cancellationToken)
    {
        var url = new Uri($"{Base}/api/models/{repoId}/revision/{Uri.EscapeDataString(revision)}?blobs=true");
        return _http.WithRetriesAsync($"{repoId}@{revision}", async (_, ct) =>
        {
            using HubResponse response = await _http.SendAsync(HttpMethod.Get, url, Redirects.All, 0, ct).ConfigureAwait(false);
            if (response.Status != 200) throw _http.ErrorFor(response, repoId, revision, file: null);
            byte[] body = await ReadSmallBodyAsync(response, ct).ConfigureAwait(false);
            return ParseRepoInfo(body, repoId, revision);
        }, cancellationToken);
    }

    async Task<byte[]> ReadSmallBodyAsync(HubResponse response, CancellationToken cancellationToken)
    {
        using Deadline timeout = _http.Timeout(cancellationToken);
        try
        {
            await using Stream body = await response.Message.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            using var copy = new MemoryStream();
            byte[] buffer = new byte[81920];
            int n;
            while ((n = await body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
            {
                if (copy.Length + n > ListingLimit)
                    throw new EncoderKitException(ErrorKind.Hub, $"answer larger than {ListingLimit >> 20} MiB", field: HubHttp.Printable(response.Url));
                copy.Write(buffer, 0, n);
            }
            return copy.ToArray();
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransientHubException($"GET {HubHttp.Printable(response.Url)}: answer not complete within {settings.Options.Timeout.TotalSeconds:0.###} s", e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new TransientHubException($"GET {HubHttp.Printable(response.Url)}: {e.Message}", e);
        }
    }

    internal static RepoInfo ParseRepoInfo(byte[] body, string repoId, string revision)
    {
        string where = $"{repoId}@{revision}";
        try
        {
            using JsonDocument json = JsonDocument.Parse(body);
            JsonElement root = json.RootElement;
            string? sha = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("sha", out JsonElement s) && s.ValueKind == JsonValueKind.String
                ? s.GetString() : null;
            if (!HubReference.IsCommitHash(sha))
                throw new EncoderKitException(ErrorKind.Hub, $"the hub's answer has no commit hash (got '{sha}')", file: where, field: "sha");
            if (!root.TryGetProperty("siblings", out JsonElement siblings) || siblings.ValueKind != JsonValueKind.Array)
                throw new EncoderKitException(ErrorKind.Hub, "the hub's answer has no file list", file: where, field: "siblings");
            var files = new Dictionary<string, RepoFile>(StringComparer.Ordinal);
            foreach (JsonElement sibling in siblings.EnumerateArray())
            {
                string? name = sibling.ValueKind == JsonValueKind.Object && sibling.TryGetProperty("rfilename", out JsonElement n)
                    && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
                if (name is null || !RelativePaths.IsSafe(name))
                    throw new EncoderKitException(ErrorKind.Hub,
                        $"the hub lists a file named '{name}', which would leave the model folder; refusing the whole listing",
                        file: where, field: "siblings");
                long? size = sibling.TryGetProperty("size", out JsonElement z) && z.ValueKind == JsonValueKind.Number ? z.GetInt64() : null;
                string? sha256 = null;
                if (sibling.TryGetProperty("lfs", out JsonElement lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    if (lfs.TryGetProperty("sha256", out JsonElement h) && h.ValueKind == JsonValueKind.String) sha256 = h.GetString()?.ToLowerInvariant();
                    if (lfs.TryGetProperty("size", out JsonElement lz) && lz.ValueKind == JsonValueKind.Number) size = lz.GetInt64();
                }
                files[name] = new RepoFile(name, size, sha256);
            }
            return new RepoInfo(sha!, files);
        }
        catch (JsonException e)
        {
            throw new EncoderKitException(ErrorKind.Hub, $"the hub's answer is not JSON: {e.Message}", file: where, inner: e);
        }
    }

    /// <summary>What a HEAD on <c>resolve</c> says about a file (huggingface_hub's HfFileMetadata).</summary>
    sealed record FileMetadata(string Etag, long Size, Uri Location);

    /// <summary>
    /// Puts one file of <paramref name="commit"/> into the cache: nothing to do if the snapshot has it; a link if the
    /// blob is there; otherwise a download under the blob's lock into <c>blobs/{etag}.incomplete</c> (resumed with a
    /// Range request if a part is there), checked for size and hash, moved into place, then linked.
    /// </summary>
    public async Task FetchFileAsync(RepoCache cache, string commit, RepoFile file, CancellationToken cancellationToken)
    {
        if (cache.HasFile(commit, file.Path)) return;
        FileMetadata meta = await GetMetadataAsync(cache.RepoId, commit, file, cancellationToken).ConfigureAwait(false);
        string blob = cache.BlobPath(meta.Etag);
        Directory.CreateDirectory(cache.BlobsDir);

        using (await FileLock.AcquireAsync(cache.LockPath(meta.Etag), Log, cancellationToken).ConfigureAwait(false))
        {
            if (!File.Exists(blob))
                await DownloadBlobAsync(cache, file, meta, cancellationToken).ConfigureAwait(false);
            else
                Log.LogDebug("{Repo}/{File}: blob {Etag} already cached", cache.RepoId, file.Path, meta.Etag);
            cache.LinkIntoSnapshot(commit, file.Path, meta.Etag);
        }
        settings.Options.Progress?.Report(new DownloadProgress(cache.RepoId, file.Path, meta.Size, meta.Size, Completed: true));
    }

    async Task<FileMetadata> GetMetadataAsync(string repoId, string commit, RepoFile file, CancellationToken cancellationToken)
    {
        string escaped = string.Join('/', file.Path.Split('/').Select(Uri.EscapeDataString));
        var url = new Uri($"{Base}/{repoId}/resolve/{commit}/{escaped}");
        string where = $"{repoId}/{file.Path}";
        FileMetadata meta = await _http.WithRetriesAsync(where, async (_, ct) =>
        {
            using HubResponse response = await _http.SendAsync(HttpMethod.Head, url, Redirects.RelativeOnly, 0, ct).ConfigureAwait(false);
            if (response.Status is < 200 or >= 400) throw _http.ErrorFor(response, repoId, commit, file.Path);

            string? served = response.Header("X-Repo-Commit");
            if (served is null)
                throw new EncoderKitException(ErrorKind.Hub,
                    "the answer has no X-Repo-Commit header: the endpoint does not look like a Hugging Face hub (check HF_ENDPOINT and proxies)", file: where);
            if (served != commit)
                throw new EncoderKitException(ErrorKind.Hub, $"asked for commit {commit}, the hub answered for {served}", file: where);
            string? etag = NormalizeEtag(response.Header("X-Linked-Etag") ?? response.Header("ETag"));
            if (etag is null)
                throw new EncoderKitException(ErrorKind.Hub, "the hub gave no ETag for the file, so it cannot be cached reliably", file: where);
            if (!HubReference.IsSafeEtag(etag))
                throw new EncoderKitException(ErrorKind.Hub, $"the hub's ETag '{etag}' is not a plain file name; refusing it", file: where);
            long? size = ParseLong(response.Header("X-Linked-Size")) ?? response.Message.Content.Headers.ContentLength;
            if (size is null or < 0)
                throw new EncoderKitException(ErrorKind.Hub, "the hub gave no size for the file", file: where);
            Uri location = response.IsRedirect && response.Header("Location") is { } loc ? HubHttp.RedirectTarget(response.Url, loc).Target : response.Url;
            return new FileMetadata(etag, size.Value, location);
        }, cancellationToken).ConfigureAwait(false);

        if (file.Size is { } listed && listed != meta.Size)
            throw new EncoderKitException(ErrorKind.Hub, $"the listing gives {listed} bytes, the file's metadata {meta.Size}", file: where);
        if (file.Sha256 is { } sha && Sha256Pattern().IsMatch(meta.Etag) && sha != meta.Etag)
            throw new EncoderKitException(ErrorKind.Hub, $"the listing gives sha256 {sha}, the file's metadata {meta.Etag}", file: where);
        return meta;
    }

    /// <summary>huggingface_hub's _normalize_etag: drop a weak marker and the quotes.</summary>
    internal static string? NormalizeEtag(string? etag)
    {
        if (etag is null) return null;
        etag = etag.Trim();
        if (etag.StartsWith("W/", StringComparison.Ordinal)) etag = etag[2..];
        etag = etag.Trim('"');
        return etag.Length == 0 ? null : etag;
    }

    async Task DownloadBlobAsync(RepoCache cache, RepoFile file, FileMetadata meta, CancellationToken cancellationToken)
    {
        string where = $"{cache.RepoId}/{file.Path}";
        string blob = cache.BlobPath(meta.Etag);
        string incomplete = blob + ".incomplete";
        Log.LogInformation("Downloading {File} ({Size} bytes) from {Url}", where, meta.Size, HubHttp.Printable(meta.Location));

        await _http.WithRetriesAsync(where, async (_, ct) =>
        {
            long have = File.Exists(incomplete) ? new FileInfo(incomplete).Length : 0;
            if (have > meta.Size) { File.Delete(incomplete); have = 0; }
            if (have == meta.Size && have > 0 && Verify(incomplete, file, meta) is not null) { File.Delete(incomplete); have = 0; }
            if (have < meta.Size || meta.Size == 0 && !File.Exists(incomplete))
                await StreamIntoAsync(incomplete, have, meta, where, cache.RepoId, file.Path, ct).ConfigureAwait(false);
            return 0;
        }, cancellationToken).ConfigureAwait(false);

        if (Verify(incomplete, file, meta) is { } problem)
        {
            File.Delete(incomplete);
            throw new EncoderKitException(ErrorKind.Hub, problem + "; the download was discarded", file: where);
        }
        try
        {
            File.Move(incomplete, blob, overwrite: false);
        }
        catch (IOException) when (File.Exists(blob))
        {
            File.Delete(incomplete); // written meanwhile by a process that does not take the lock
        }
    }

    async Task StreamIntoAsync(string incomplete, long have, FileMetadata meta, string where, string repoId, string path, CancellationToken cancellationToken)
    {
        using HubResponse response = await _http.SendAsync(HttpMethod.Get, meta.Location, Redirects.All, have, cancellationToken).ConfigureAwait(false);
        if (response.Status == 416)
        {
            File.Delete(incomplete);
            throw new TransientHubException($"the server cannot send from byte {have}; starting over");
        }
        if (response.Status is < 200 or >= 300) throw _http.ErrorFor(response, repoId, null, path);
        if (have > 0 && response.Status == 206)
        {
            long? start = response.Message.Content.Headers.ContentRange?.From;
            if (start != have)
            {
                File.Delete(incomplete);
                throw new TransientHubException($"asked for bytes from {have}, the server sent from {start}; starting over");
            }
        }
        else if (have > 0)
        {
            Log.LogDebug("{File}: the server ignored the range; downloading from the start", where);
            have = 0; // a 200 answer is the whole file (huggingface_hub does the same)
        }

        await using var output = new FileStream(incomplete, have == 0 ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.None);
        using Deadline timeout = _http.Timeout(cancellationToken);
        long done = have;
        IProgress<DownloadProgress>? progress = settings.Options.Progress;
        progress?.Report(new DownloadProgress(repoId, path, done, meta.Size, Completed: false));
        try
        {
            await using Stream body = await response.Message.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            byte[] buffer = new byte[ChunkSize];
            while (true)
            {
                timeout.Restart(); // a timeout per piece, not for the whole file
                int n = await body.ReadAsync(buffer, timeout.Token).ConfigureAwait(false);
                if (n == 0) break;
                if (done + n > meta.Size)
                {
                    await output.DisposeAsync().ConfigureAwait(false);
                    File.Delete(incomplete);
                    throw new EncoderKitException(ErrorKind.Hub, $"the server sent more than the {meta.Size} bytes the hub announced; the download was discarded", file: where);
                }
                await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                done += n;
                progress?.Report(new DownloadProgress(repoId, path, done, meta.Size, Completed: false));
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransientHubException($"no data for {settings.Options.Timeout.TotalSeconds:0.###} s after byte {done}", e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new TransientHubException($"download broke off after byte {done}: {e.Message}", e);
        }
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (done != meta.Size)
        {
            await output.DisposeAsync().ConfigureAwait(false);
            File.Delete(incomplete);
            throw new EncoderKitException(ErrorKind.Hub, $"the server sent {done} bytes, the hub announced {meta.Size}; the download was discarded", file: where);
        }
    }

    /// <summary>
    /// Checks a finished download: its size, and its hash when the hub named one: sha256 for LFS files (the listing's
    /// or the ETag's), the git blob sha1 for the others (their ETag). Null when it is right.
    /// </summary>
    static string? Verify(string path, RepoFile file, FileMetadata meta)
    {
        long size = new FileInfo(path).Length;
        if (size != meta.Size) return $"{size} bytes, the hub announced {meta.Size}";
        string? sha256 = file.Sha256 ?? (Sha256Pattern().IsMatch(meta.Etag) ? meta.Etag : null);
        if (sha256 is not null)
        {
            string got = HashFile(path, HashAlgorithmName.SHA256, prefix: null);
            return got == sha256 ? null : $"wrong sha256: got {got}, the hub announced {sha256}";
        }
        if (GitSha1Pattern().IsMatch(meta.Etag))
        {
            string got = HashFile(path, HashAlgorithmName.SHA1, prefix: Encoding.ASCII.GetBytes($"blob {size}\0"));
            return got == meta.Etag ? null : $"wrong git blob hash: got {got}, the hub announced {meta.Etag}";
        }
        return null; // an ETag of another kind: the size is all there is to check
    }

    static string HashFile(string path, HashAlgorithmName algorithm, byte[]? prefix)
    {
        using var hash = IncrementalHash.CreateHash(algorithm);
        if (prefix is not null) hash.AppendData(prefix);
        using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        byte[] buffer = new byte[1 << 20];
        int n;
        while ((n = input.Read(buffer)) > 0) hash.AppendData(buffer, 0, n);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    static long? ParseLong(string? value) => long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n) ? n : null;

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Pattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex GitSha1Pattern();
}
