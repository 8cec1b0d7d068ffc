using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using EncoderKit.IO;

namespace EncoderKit.Hub;

/// <summary>
/// A model named on the hub: <c>org/name</c>, <c>name</c>, or either with <c>@revision</c>. Also the checks on every
/// name that becomes part of a cache path: repository ids, revisions, file paths given by the server.
/// </summary>
internal sealed partial record HubReference(string RepoId, string Revision)
{
    public const string DefaultRevision = "main";

    /// <summary>Reads <c>org/name[@rev]</c>; <paramref name="revision"/>, when given, must agree with an <c>@rev</c>.</summary>
    public static HubReference Parse(string model, string? revision)
    {
        string id = model;
        string? fromId = null;
        int at = model.IndexOf('@');
        if (at >= 0)
        {
            id = model[..at];
            fromId = model[(at + 1)..];
            if (fromId.Length == 0)
                throw new EncoderKitException(ErrorKind.BadInput, "nothing after '@': write org/name@revision", field: model);
        }
        if (fromId is not null && revision is not null && fromId != revision)
            throw new EncoderKitException(ErrorKind.BadInput,
                $"revision given twice, as '@{fromId}' and as '{revision}'", field: model);
        if (!IsRepoId(id))
            throw new EncoderKitException(ErrorKind.BadInput,
                "not a local folder and not a hub model id (org/name or name, letters, digits, '-', '_', '.', at most 96 each)",
                field: model);
        string rev = fromId ?? revision ?? DefaultRevision;
        if (!IsSafeRevision(rev))
            throw new EncoderKitException(ErrorKind.BadInput, $"revision '{rev}' is not a branch, tag or commit name", field: model);
        return new HubReference(id, rev);
    }

    /// <summary>The rules of <c>huggingface_hub.utils.validate_repo_id</c>, restricted to ASCII.</summary>
    public static bool IsRepoId(string id) =>
        RepoIdPattern().IsMatch(id) && !id.Contains("--", StringComparison.Ordinal)
        && !id.Contains("..", StringComparison.Ordinal) && !id.EndsWith(".git", StringComparison.Ordinal);

    /// <summary>A full commit hash: 40 lowercase hex digits (huggingface_hub's REGEX_COMMIT_HASH).</summary>
    public static bool IsCommitHash([NotNullWhen(true)] string? value) => value is not null && CommitPattern().IsMatch(value);

    /// <summary>
    /// A revision becomes <c>refs/{revision}</c> in the cache, so it may hold '/' (<c>refs/pr/1</c>) but no segment
    /// that leaves the folder.
    /// </summary>
    public static bool IsSafeRevision(string revision) => revision.Length <= 255 && RelativePaths.IsSafe(revision);

    /// <summary>
    /// An ETag names a blob file: git sha1 or sha256 on the hub; anything else must still be one plain file name.
    /// </summary>
    public static bool IsSafeEtag(string etag) => EtagPattern().IsMatch(etag);

    [GeneratedRegex(@"^([A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_])?/)?[A-Za-z0-9_]([A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?$")]
    private static partial Regex RepoIdPattern();

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,127}$")]
    private static partial Regex EtagPattern();
}
