using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using EncoderKit.IO;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// Corpus embeddings kept on disk, so that searching the same corpus with the same model again does not embed it
/// again. The key is a SHA-256 of the model (every file of its folder and module folders: name, final link target,
/// size, modification time), of everything that changes the vectors (prompt, dimensions, normalisation, max length, device and dtype),
/// and of the corpus text itself. One safetensors file per key, written atomically; a file that does not read back
/// as [count, dimensions] float32 is ignored and replaced.
/// </summary>
public sealed class CorpusEmbeddingCache(string directory)
{
    public string Directory { get; } = directory;

    /// <summary>$ENCODERKIT_CACHE, else $XDG_CACHE_HOME/encoderkit, else ~/.cache/encoderkit; then corpus-embeddings/.</summary>
    public static string DefaultDirectory
    {
        get
        {
            string? root = Environment.GetEnvironmentVariable("ENCODERKIT_CACHE");
            if (string.IsNullOrEmpty(root))
            {
                string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                root = Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache") : xdg, "encoderkit");
            }
            return Path.Combine(root, "corpus-embeddings");
        }
    }

    /// <summary>The corpus embeddings, read from the cache when present, else embedded and stored.</summary>
    /// <returns>The embeddings, and whether they came from the cache.</returns>
    public (float[][] Embeddings, bool FromCache) GetOrEmbed(SentenceEncoder encoder, IReadOnlyList<string> corpus, string? promptName, string? prompt,
        EmbedOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= EmbedOptions.Default;
        string? resolvedPrompt = encoder.ResolvePrompt(promptName, prompt);
        int dimensions = options.TruncateDim ?? encoder.Dimension;
        string key = Key(encoder, corpus, resolvedPrompt, dimensions, options.Normalize ?? encoder.NormalizesByDefault);
        string file = Path.Combine(Directory, key + ".safetensors");
        if (TryRead(file, corpus.Count, dimensions) is { } cached) return (cached, true);

        float[][] embeddings = encoder.Encode(corpus, null, resolvedPrompt ?? "", options, cancellationToken);
        System.IO.Directory.CreateDirectory(Directory);
        var data = new byte[(long)corpus.Count * dimensions * sizeof(float)];
        for (int i = 0; i < embeddings.Length; i++)
            MemoryMarshal.AsBytes(embeddings[i].AsSpan()).CopyTo(data.AsSpan(i * dimensions * sizeof(float)));
        SafetensorsWriter.Write(file, [new TensorData("embeddings", TensorDtype.F32, [corpus.Count, dimensions], data)],
            new Dictionary<string, string> { ["model"] = encoder.ModelId, ["count"] = corpus.Count.ToString(CultureInfo.InvariantCulture), ["key"] = key });
        return (embeddings, false);
    }

    static float[][]? TryRead(string file, int count, int dimensions)
    {
        if (!File.Exists(file)) return null;
        try
        {
            using SafetensorsFile stored = SafetensorsFile.Open(file);
            if (!stored.TryGet("embeddings", out TensorInfo? info) || info.Dtype != TensorDtype.F32 || !info.Shape.SequenceEqual([count, (long)dimensions]))
                return null;
            ReadOnlySpan<float> values = MemoryMarshal.Cast<byte, float>(stored.Bytes("embeddings"));
            var rows = new float[count][];
            for (int i = 0; i < count; i++) rows[i] = values.Slice(i * dimensions, dimensions).ToArray();
            return rows;
        }
        catch (EncoderKitException)
        {
            return null;   // damaged: embed again and overwrite
        }
    }

    /// <summary>Hex SHA-256 over the model's files, the settings that change the vectors, and the corpus.</summary>
    public static string Key(SentenceEncoder encoder, IReadOnlyList<string> corpus, string? prompt, int dimensions, bool normalize)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            hash.AppendData(BitConverter.GetBytes(bytes.Length));
            hash.AppendData(bytes);
        }
        Add("encoderkit corpus embeddings v1");
        foreach (string folder in encoder.SourceFolders) Add(FolderFingerprint(folder));
        Add(FormattableString.Invariant($"prompt={prompt}|dims={dimensions}|normalize={normalize}|max={encoder.MaxSeqLength}|lower={encoder.DoLowerCase}|pooling={encoder.Pooling}|compute={encoder.ComputeDescription}"));
        Add(corpus.Count.ToString(CultureInfo.InvariantCulture));
        foreach (string text in corpus) Add(text);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The files directly in <paramref name="folder"/> (module folders are fingerprinted on their own).</summary>
    static string FolderFingerprint(string folder)
    {
        var lines = new StringBuilder(Path.GetFullPath(folder)).Append('\n');
        foreach (string path in System.IO.Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;   // hub snapshots link to blobs
            if (!info.Exists) continue;
            lines.Append(CultureInfo.InvariantCulture, $"{Path.GetRelativePath(folder, path)}\t{info.FullName}\t{info.Length}\t{info.LastWriteTimeUtc.Ticks}\n");
        }
        return lines.ToString();
    }
}
