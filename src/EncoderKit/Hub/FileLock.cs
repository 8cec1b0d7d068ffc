using Microsoft.Extensions.Logging;

namespace EncoderKit.Hub;

/// <summary>
/// An exclusive lock on a file, shared with other processes: .NET opens with <c>FileShare.None</c> by taking
/// <c>flock(LOCK_EX)</c> on Unix, the same lock Python's <c>filelock</c> (used by huggingface_hub for
/// <c>.locks/</c>) takes, so EncoderKit and Python downloading the same blob wait for each other.
/// </summary>
/// <remarks>The lock file is left in place on release, as filelock does: deleting it could let two holders in.</remarks>
internal sealed class FileLock : IDisposable
{
    static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);
    static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(10);

    readonly FileStream _stream;

    FileLock(FileStream stream) => _stream = stream;

    public static async Task<FileLock> AcquireAsync(string path, ILogger logger, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        DateTime nextReport = DateTime.UtcNow + ReportEvery;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (IsHeldElsewhere(e))
            {
                if (DateTime.UtcNow >= nextReport)
                {
                    logger.LogInformation("Waiting for another download of the same file to finish ({Lock})", path);
                    nextReport = DateTime.UtcNow + ReportEvery;
                }
                await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // EWOULDBLOCK/EAGAIN (11) on Linux, 35 on macOS; ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION on Windows.
    static bool IsHeldElsewhere(IOException e) =>
        (e.HResult & 0xFFFF) is 11 or 35 or 32 or 33;

    public void Dispose() => _stream.Dispose();
}
