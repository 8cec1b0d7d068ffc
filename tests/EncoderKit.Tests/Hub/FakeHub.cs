using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EncoderKit.Tests.Hub;

/// <summary>A file in a fake repository; LFS files are served the hub's way (a redirect to a blob store).</summary>
public sealed class FakeFile(byte[] content, bool lfs)
{
    public byte[] Content { get; } = content;
    public bool Lfs { get; } = lfs;
    public string Sha256 { get; } = Convert.ToHexStringLower(SHA256.HashData(content));
    public string GitSha1 { get; } = FakeHub.GitBlobSha1(content);
    /// <summary>The blob name huggingface_hub files it under: sha256 for LFS files, the git blob sha1 otherwise.</summary>
    public string Etag => Lfs ? Sha256 : GitSha1;
}

/// <summary>A repository with one commit (and the branches or tags pointing to it).</summary>
public sealed class FakeRepo(string id, Dictionary<string, FakeFile> files)
{
    public string Id { get; } = id;
    public string Commit { get; } = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes("commit of " + id)));
    public Dictionary<string, FakeFile> Files { get; } = files;
    public HashSet<string> Refs { get; } = ["main"];
    /// <summary>Names the listing shows although no such file is served (to test hostile listings).</summary>
    public List<string> ExtraListed { get; } = [];
}

/// <summary>One request the fake hub saw.</summary>
public sealed record SeenRequest(string Method, string Path, string? Range, string? Authorization, string Host);

/// <summary>What the fake hub does wrong, for requests whose path contains <see cref="PathContains"/>.</summary>
public sealed record Fault(string PathContains, FaultKind Kind, int Times = 1, string? Method = null, int Status = 500)
{
    public int Remaining = Times;
}

public enum FaultKind
{
    /// <summary>Answer with <see cref="Fault.Status"/>.</summary>
    Status,
    /// <summary>Send no answer until the client gives up (at most 30 s).</summary>
    Slow,
    /// <summary>Announce the whole body, send half, then drop the connection.</summary>
    Truncate,
    /// <summary>Send half the body, then nothing until the client gives up (at most 30 s).</summary>
    Stall,
    /// <summary>Send a body of the right length with one byte changed.</summary>
    Corrupt,
    /// <summary>Send the body with ten bytes more than announced in the metadata.</summary>
    Longer,
    /// <summary>Send the body ten bytes short, with a Content-Length that says so.</summary>
    Shorter,
}

/// <summary>
/// A Hugging Face hub in miniature on 127.0.0.1 (a free port): <c>/api/models/{id}/revision/{rev}</c>,
/// <c>/{id}/resolve/{rev}/{file}</c> with the hub's headers (ETag, X-Linked-Etag, X-Linked-Size, X-Repo-Commit,
/// X-Error-Code), LFS files redirected to <c>/lfs/{sha256}</c> (here or on another FakeHub acting as a CDN),
/// Range requests, renamed repositories (relative redirects), and faults on demand. It counts every request.
/// </summary>
public sealed class FakeHub : IAsyncDisposable
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    readonly WebApplication _app;

    public ConcurrentDictionary<string, FakeRepo> Repos { get; private set; } = new();
    public ConcurrentQueue<SeenRequest> Requests { get; } = new();
    public List<Fault> Faults { get; } = [];
    /// <summary>Old id → new id: requests for the old one get a relative redirect, as after a rename on the hub.</summary>
    public Dictionary<string, string> Renames { get; } = [];
    /// <summary>Where LFS downloads are redirected (absolute); this hub itself by default.</summary>
    public Uri? LfsBase { get; set; }
    public Uri Url { get; }
    public string Endpoint => Url.AbsoluteUri.TrimEnd('/');

    FakeHub(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public static async Task<FakeHub> StartAsync(params FakeRepo[] repos)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        FakeHub? hub = null;
        app.Run(context => hub!.HandleAsync(context));
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        hub = new FakeHub(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
        foreach (FakeRepo repo in repos) hub.Repos[repo.Id] = repo;
        return hub;
    }

    /// <summary>Serves the same repositories as <paramref name="other"/> (a CDN holding its blobs).</summary>
    public void ShareReposWith(FakeHub other) => Repos = other.Repos;

    public int Count(Func<SeenRequest, bool> which) => Requests.Count(which);
    public int Count(string method, string pathContains) => Count(r => r.Method == method && r.Path.Contains(pathContains, StringComparison.Ordinal));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    async Task HandleAsync(HttpContext context)
    {
        string raw = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        string path = raw.Split('?')[0];
        string method = context.Request.Method;
        Requests.Enqueue(new SeenRequest(method, path, context.Request.Headers.Range.FirstOrDefault(),
            context.Request.Headers.Authorization.FirstOrDefault(), context.Request.Host.Value ?? ""));

        Fault? fault = TakeFault(method, path);
        if (fault?.Kind == FaultKind.Status)
        {
            context.Response.StatusCode = fault.Status;
            return;
        }
        if (fault?.Kind == FaultKind.Slow)
        {
            await WaitForClientToLeave(context);
            return;
        }

        if (path.StartsWith("/api/models/", StringComparison.Ordinal))
            await ServeApiAsync(context, path["/api/models/".Length..], raw);
        else if (path.StartsWith("/lfs/", StringComparison.Ordinal))
            await ServeLfsAsync(context, path["/lfs/".Length..], fault);
        else if (path.Contains("/resolve/", StringComparison.Ordinal))
            await ServeResolveAsync(context, path[1..], raw, fault);
        else
            context.Response.StatusCode = 404;
    }

    Fault? TakeFault(string method, string path)
    {
        lock (Faults)
        {
            Fault? fault = Faults.FirstOrDefault(f => f.Remaining > 0 && path.Contains(f.PathContains, StringComparison.Ordinal)
                                                     && (f.Method is null || f.Method == method));
            if (fault is not null) fault.Remaining--;
            return fault;
        }
    }

    static async Task WaitForClientToLeave(HttpContext context)
    {
        try { await Task.Delay(Bound, context.RequestAborted); }
        catch (OperationCanceledException) { }
    }

    bool Renamed(HttpContext context, string id, string raw)
    {
        if (!Renames.TryGetValue(id, out string? to)) return false;
        context.Response.StatusCode = 307;
        context.Response.Headers.Location = raw.Replace("/" + id + "/", "/" + to + "/", StringComparison.Ordinal); // relative
        return true;
    }

    async Task ServeApiAsync(HttpContext context, string rest, string raw)
    {
        int at = rest.IndexOf("/revision/", StringComparison.Ordinal);
        string id = at < 0 ? rest : rest[..at];
        string revision = at < 0 ? "main" : Uri.UnescapeDataString(rest[(at + "/revision/".Length)..]);
        if (Renamed(context, id, raw)) return;
        if (!Repos.TryGetValue(id, out FakeRepo? repo))
        {
            Error(context, 404, "RepoNotFound", "Repository not found");
            return;
        }
        if (revision != repo.Commit && !repo.Refs.Contains(revision))
        {
            Error(context, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        var siblings = repo.Files.Select(f => (object)new Dictionary<string, object?>
        {
            ["rfilename"] = f.Key,
            ["size"] = f.Value.Content.Length,
            ["blobId"] = f.Value.GitSha1,
            ["lfs"] = f.Value.Lfs ? new Dictionary<string, object> { ["sha256"] = f.Value.Sha256, ["size"] = f.Value.Content.Length, ["pointerSize"] = 135 } : null,
        }).Concat(repo.ExtraListed.Select(n => (object)new Dictionary<string, object> { ["rfilename"] = n })).ToList();
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_id"] = "0123", ["id"] = repo.Id, ["sha"] = repo.Commit, ["siblings"] = siblings,
        }));
    }

    async Task ServeResolveAsync(HttpContext context, string rest, string raw, Fault? fault)
    {
        int at = rest.IndexOf("/resolve/", StringComparison.Ordinal);
        string id = rest[..at];
        if (Renamed(context, id, raw)) return;
        string[] parts = rest[(at + "/resolve/".Length)..].Split('/');
        string revision = Uri.UnescapeDataString(parts[0]);
        string file = string.Join('/', parts.Skip(1).Select(Uri.UnescapeDataString));
        if (!Repos.TryGetValue(id, out FakeRepo? repo))
        {
            Error(context, 404, "RepoNotFound", "Repository not found");
            return;
        }
        if (revision != repo.Commit && !repo.Refs.Contains(revision))
        {
            Error(context, 404, "RevisionNotFound", "Invalid rev id");
            return;
        }
        context.Response.Headers["X-Repo-Commit"] = repo.Commit;
        if (!repo.Files.TryGetValue(file, out FakeFile? found))
        {
            Error(context, 404, "EntryNotFound", "Entry not found");
            return;
        }
        if (found.Lfs)
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.ETag = $"\"{found.GitSha1}\""; // the pointer file's, as on the hub
            context.Response.Headers["X-Linked-Etag"] = $"\"{found.Sha256}\"";
            context.Response.Headers["X-Linked-Size"] = found.Content.Length.ToString();
            context.Response.Headers.Location = $"{(LfsBase ?? Url).AbsoluteUri.TrimEnd('/')}/lfs/{found.Sha256}?X-Amz-Signature=secret";
            context.Response.ContentLength = 0;
            return;
        }
        context.Response.Headers.ETag = $"\"{found.GitSha1}\"";
        await ServeBodyAsync(context, found.Content, fault);
    }

    async Task ServeLfsAsync(HttpContext context, string sha256, Fault? fault)
    {
        FakeFile? found = Repos.Values.SelectMany(r => r.Files.Values).FirstOrDefault(f => f.Sha256 == sha256);
        if (found is null)
        {
            context.Response.StatusCode = 404;
            return;
        }
        context.Response.Headers.ETag = $"\"{sha256}\"";
        await ServeBodyAsync(context, found.Content, fault);
    }

    static async Task ServeBodyAsync(HttpContext context, byte[] content, Fault? fault)
    {
        long start = 0;
        string? range = context.Request.Headers.Range.FirstOrDefault();
        if (range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1]);
            if (start >= content.Length)
            {
                context.Response.StatusCode = 416;
                context.Response.Headers.ContentRange = $"bytes */{content.Length}";
                return;
            }
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {start}-{content.Length - 1}/{content.Length}";
        }
        byte[] body = content[(int)start..];
        if (fault?.Kind == FaultKind.Corrupt)
        {
            body = (byte[])body.Clone();
            body[body.Length / 2] ^= 0xFF;
        }
        if (fault?.Kind == FaultKind.Longer) body = [.. body, .. new byte[10]];
        if (fault?.Kind == FaultKind.Shorter) body = body[..^10];
        context.Response.ContentLength = body.Length;
        if (HttpMethods.IsHead(context.Request.Method)) return;

        if (fault?.Kind is FaultKind.Truncate or FaultKind.Stall)
        {
            await context.Response.Body.WriteAsync(body.AsMemory(0, body.Length / 2));
            await context.Response.Body.FlushAsync();
            if (fault.Kind == FaultKind.Truncate) context.Abort();
            else await WaitForClientToLeave(context);
            return;
        }
        await context.Response.Body.WriteAsync(body);
    }

    static void Error(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.Headers["X-Error-Code"] = code;
        context.Response.Headers["X-Error-Message"] = message;
    }

    public static string GitBlobSha1(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));
}
