using System.Globalization;

namespace EncoderKit.Training;

/// <summary>
/// The checkpoints of a run, <c>checkpoint-{step}</c> folders in the output folder, written so that a crash (even
/// kill -9) at any moment leaves only complete ones: each is written under a hidden temporary name and renamed into
/// place once every file is in it, and one removed is first renamed out of the way; only the newest <c>keepLast</c> are kept.
/// </summary>
public sealed class CheckpointFolders
{
    const string Prefix = "checkpoint-", PartialPrefix = ".partial-";

    public CheckpointFolders(string outputFolder, int keepLast)
    {
        if (keepLast < 1) throw new EncoderKitException(ErrorKind.BadInput, $"checkpoints to keep {keepLast} is not ≥ 1", field: "save_total_limit");
        OutputFolder = outputFolder;
        KeepLast = keepLast;
    }

    public string OutputFolder { get; }

    public int KeepLast { get; }

    /// <summary>
    /// Writes the checkpoint of <paramref name="step"/>: <paramref name="write"/> fills a temporary folder, which then
    /// becomes <c>checkpoint-{step}</c> in one rename; then older checkpoints beyond <see cref="KeepLast"/> and leftovers
    /// of interrupted writes are removed. Returns the checkpoint's folder.
    /// </summary>
    public string Write(long step, Action<string> write)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        Directory.CreateDirectory(OutputFolder);
        string target = Path.Combine(OutputFolder, Prefix + step.ToString(CultureInfo.InvariantCulture));
        string partial = Path.Combine(OutputFolder, $"{PartialPrefix}{Prefix}{step.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(partial);
            write(partial);
            // A checkpoint of the same step (a run resumed from before it) is replaced, not merged into.
            if (Directory.Exists(target)) Discard(target);
            Directory.Move(partial, target);
        }
        catch
        {
            DeleteQuietly(partial);
            throw;
        }
        foreach (var (_, folder) in Complete().SkipLast(KeepLast)) Discard(folder);
        foreach (string leftover in Directory.GetDirectories(OutputFolder, PartialPrefix + "*")) DeleteQuietly(leftover);
        return target;
    }

    /// <summary>The newest complete checkpoint's folder, or null when there is none.</summary>
    public string? Latest() => Complete().Select(c => c.Folder).LastOrDefault();

    /// <summary>Complete checkpoints, oldest first.</summary>
    public IReadOnlyList<(long Step, string Folder)> Complete()
    {
        if (!Directory.Exists(OutputFolder)) return [];
        return [.. Directory.GetDirectories(OutputFolder, Prefix + "*")
            .Select(folder => (Ok: long.TryParse(Path.GetFileName(folder)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out long step), Step: step, Folder: folder))
            .Where(c => c.Ok)
            .Select(c => (c.Step, c.Folder))
            .OrderBy(c => c.Step)];
    }

    // Deleting file by file is not atomic: a kill part-way would leave a checkpoint-N without some of its files. So the
    // folder first leaves the checkpoint names in one rename, and what remains of it is a leftover the next write sweeps.
    void Discard(string folder)
    {
        string doomed = Path.Combine(OutputFolder, $"{PartialPrefix}{Path.GetFileName(folder)}.{Guid.NewGuid():N}");
        Directory.Move(folder, doomed);
        DeleteQuietly(doomed);
    }

    static void DeleteQuietly(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
