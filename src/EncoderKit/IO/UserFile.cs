namespace EncoderKit.IO;

/// <summary>
/// Reading a file a user named or a model folder holds: the file system's own failures (no such file, a folder where a
/// file should be, no read permission, a symlink loop) become one <see cref="EncoderKitException"/> naming the file,
/// never a bare .NET exception.
/// </summary>
internal static class UserFile
{
    public static T Read<T>(string path, Func<T> read)
    {
        if (Directory.Exists(path)) throw new EncoderKitException(ErrorKind.MissingFile, "is a folder, expected a file", path);
        try
        {
            // File.Exists is false for a dangling link or a loop as well as for nothing there; the open below tells which.
            return read();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new EncoderKitException(ErrorKind.MissingFile, "file not found", path, inner: e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EncoderKitException(ErrorKind.MissingFile, $"cannot read: {e.Message}", path, inner: e);
        }
    }
}
