namespace EncoderKit.Tests;

/// <summary>
/// Finds ../shared/reference (read-only fixtures made by the reference Python implementations):
/// $ENCODERKIT_REFERENCE if set, else ../shared/reference beside the repository root.
/// </summary>
public static class ReferenceData
{
    public static string Root { get; } = Locate();

    public static string Model(string family) => Path.Combine(Root, "models", family);

    public static string Tokenizer(string name) => Path.Combine(Root, "tokenizers", name);

    static string Locate()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("ENCODERKIT_REFERENCE");
        if (!string.IsNullOrEmpty(fromEnvironment)) return Require(fromEnvironment);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EncoderKit.slnx")))
                return Require(Path.Combine(dir.FullName, "..", "shared", "reference"));
        }
        throw new InvalidOperationException("Cannot find the repository root (EncoderKit.slnx) above " + AppContext.BaseDirectory);
    }

    static string Require(string path) =>
        Directory.Exists(path) ? Path.GetFullPath(path)
            : throw new InvalidOperationException($"Reference data folder {path} does not exist; set ENCODERKIT_REFERENCE.");
}
