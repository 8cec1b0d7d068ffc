namespace EncoderKit.Tests;

/// <summary>A temporary model folder assembled from reference files (copied at test time, never committed), deleted on dispose.</summary>
public sealed class ModelFolder : IDisposable
{
    public ModelFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "encoderkit-test-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>A reference model's config and weights plus a reference tokenizer's files.</summary>
    public static ModelFolder FromReference(string model, string? tokenizer = null)
    {
        var folder = new ModelFolder();
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
