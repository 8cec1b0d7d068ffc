namespace EncoderKit.IO;

/// <summary>
/// Writes a file so that nobody ever sees it half-written: the content goes to a temporary file in the
/// same folder (so the final rename stays on one file system), is flushed to disk, then renamed over the
/// target in one step. If writing fails, the temporary file is removed and the target is left as it was.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string target = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(folder))
            throw new EncoderKitException(ErrorKind.MissingFile, "folder to write into does not exist", file: folder);

        string temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            DeleteQuietly(temporary);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) => Write(path, stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    /// <summary>Writes <paramref name="json"/> indented, as Python's json module reads it (non-finite numbers as NaN/Infinity).</summary>
    public static void WriteJson(string path, System.Text.Json.Nodes.JsonNode json) => Write(path, stream =>
    {
        using var writer = new System.Text.Json.Utf8JsonWriter(stream, new System.Text.Json.JsonWriterOptions { Indented = true });
        PythonJson.Write(writer, json);
    });

    // The original failure is what the caller needs to see; a failed clean-up must not replace it.
    static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
