namespace EncoderKit.Tests;

/// <summary>
/// A fresh folder under the system temp folder, deleted with everything in it on dispose; optionally a model folder
/// assembled from reference files (copied at test time, never committed).
/// </summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("encoderkit-test-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>A reference model's config and weights plus a reference tokenizer's files.</summary>
    public static TempFolder FromReference(string model, string? tokenizer = null)
    {
        var folder = new TempFolder();
        folder.CopyFrom(ReferenceData.Model(model), "config.json", "model.safetensors");
        if (tokenizer is not null)
            foreach (string file in Directory.GetFiles(ReferenceData.Tokenizer(tokenizer)))
                if (!file.EndsWith(".jsonl", StringComparison.Ordinal)) System.IO.File.Copy(file, folder.File(System.IO.Path.GetFileName(file)));
        return folder;
    }

    public void CopyFrom(string sourceFolder, params string[] names)
    {
        foreach (string name in names) System.IO.File.Copy(System.IO.Path.Combine(sourceFolder, name), File(name), overwrite: true);
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
