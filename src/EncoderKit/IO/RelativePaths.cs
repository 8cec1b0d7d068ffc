namespace EncoderKit.IO;

/// <summary>Paths that files name inside a model folder (a shard index, modules.json, a hub listing).</summary>
public static class RelativePaths
{
    /// <summary>
    /// Whether <paramref name="path"/> stays inside the folder it is read against: relative, '/' separated, no empty,
    /// '.' or '..' segment, no backslash, no control character, no drive or root.
    /// </summary>
    public static bool IsSafe(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Length > 4096) return false;
        if (path[0] == '/' || path.Contains('\\') || Path.IsPathRooted(path)) return false;
        foreach (char c in path)
            if (char.IsControl(c)) return false;
        if (OperatingSystem.IsWindows() && path.Contains(':')) return false;
        foreach (string segment in path.Split('/'))
            if (segment is "" or "." or "..") return false;
        return true;
    }
}
