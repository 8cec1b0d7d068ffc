namespace EncoderKit.Hub;

/// <summary>
/// Turns what a user calls a model into a local folder holding its files: a folder is taken as it is; a hub id
/// (<c>org/name</c>, <c>name</c>, <c>org/name@revision</c>) is looked up in the hub cache and fetched when missing.
/// </summary>
/// <remarks>
/// The cache is huggingface_hub's, so a model Python fetched is found here and the other way round. One deliberate
/// difference: once a snapshot holds every file the model needs, it is used without asking the hub again (Python
/// asks on every call); <see cref="HubOptions.CheckForUpdates"/> asks anyway.
/// </remarks>
public static class ModelSource
{
    /// <summary>The files a tokenizer is read from: as <see cref="HubOptions.Files"/>, fetches a model's tokenizer without its weights.</summary>
    public static IReadOnlyList<string> TokenizerFiles { get; } = [.. ModelFiles.TokenizerFiles, "*.model"];

    /// <summary>The local folder for <paramref name="model"/>, fetching its files from the hub if needed.</summary>
    /// <param name="model">A local folder, or a hub id with an optional <c>@revision</c>.</param>
    /// <param name="revision">A branch, tag or commit; the default is <c>main</c>. Must agree with an <c>@revision</c>.</param>
    /// <param name="options">Endpoint, token, cache, offline mode and the rest; null reads them all from the environment.</param>
    /// <param name="cancellationToken">Stops a download; what was fetched so far stays to be resumed.</param>
    /// <exception cref="EncoderKitException">The model cannot be found or fetched; the message says which file and why.</exception>
    public static async Task<string> ResolveAsync(string model, string? revision = null, HubOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (Directory.Exists(model))
        {
            if (revision is not null)
                throw new EncoderKitException(ErrorKind.BadInput, $"revision '{revision}' was given for a local folder; revisions are for hub ids", file: model);
            return Path.GetFullPath(model);
        }
        if (File.Exists(model))
            throw new EncoderKitException(ErrorKind.BadInput, "is a file; a model is a folder (config.json, weights, tokenizer) or a hub id", file: model);
        if (LooksLikePath(model))
            throw new EncoderKitException(ErrorKind.MissingFile, "no such model folder", file: model);

        HubReference reference = HubReference.Parse(model, revision);
        HubSettings settings = HubSettings.From(options);
        try
        {
            return await SnapshotDownload.ResolveAsync(settings, reference, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // A cache owned by someone else, a read-only disk, a symlink loop in the cache.
            throw new EncoderKitException(ErrorKind.Hub, $"the hub cache cannot be used: {e.Message}", file: settings.CacheDir, inner: e);
        }
    }

    /// <summary>
    /// True for text that can only be a path: rooted, starting with '.', '~', holding a backslash, or more than one
    /// '/' (a hub id has at most one).
    /// </summary>
    internal static bool LooksLikePath(string model)
    {
        string name = model.Split('@')[0];
        return name.Length == 0 || Path.IsPathRooted(name) || name.StartsWith('.') || name.StartsWith('~') || name.Contains('\\')
            || name.Count(c => c == '/') > 1 || name.EndsWith('/');
    }
}
