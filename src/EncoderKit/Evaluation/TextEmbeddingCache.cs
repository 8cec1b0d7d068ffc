using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Evaluation;

/// <summary>
/// Embeddings kept per text, so that a text met again in another task of the same run (or a later run with the same
/// output folder) is not embedded again. Keyed by the model's files and everything that changes a vector (prompt,
/// width, normalisation, length, device and dtype; see <see cref="CorpusEmbeddingCache.Key"/>), then by the SHA-256 of
/// the text. Each key is one append-only file of (text hash, vector) records; a torn last record (a run killed while
/// writing) is ignored.
/// </summary>
public sealed class TextEmbeddingCache(string directory)
{
    const int HashBytes = 32;
    readonly Dictionary<string, Dictionary<string, float[]>> _loaded = new(StringComparer.Ordinal);
    readonly object _gate = new();

    public string Directory { get; } = directory;

    /// <summary>Texts embedded (not found in the cache) since this cache was made.</summary>
    public long Embedded { get; private set; }

    /// <summary>Embeddings of <paramref name="texts"/>, in order: the cached ones read, the others embedded once each and stored.</summary>
    public float[][] GetOrEmbed(SentenceEncoder encoder, IReadOnlyList<string> texts, string? prompt, EmbedOptions options, CancellationToken cancellationToken = default)
    {
        int dimensions = options.TruncateDim ?? encoder.Dimension;
        string key = CorpusEmbeddingCache.Key(encoder, [], prompt, dimensions, options.Normalize ?? encoder.NormalizesByDefault);
        string file = Path.Combine(Directory, key + ".bin");
        lock (_gate)
        {
            if (!_loaded.TryGetValue(key, out var known)) _loaded[key] = known = Load(file, dimensions);
            string[] hashes = texts.Select(Hash).ToArray();
            var missing = new List<string>();
            var missingHashes = new List<string>();
            var queued = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < texts.Count; i++)
                if (!known.ContainsKey(hashes[i]) && queued.Add(hashes[i]))
                {
                    missing.Add(texts[i]);
                    missingHashes.Add(hashes[i]);
                }
            if (missing.Count > 0)
            {
                float[][] vectors = encoder.Encode(missing, null, prompt ?? "", options, cancellationToken);
                System.IO.Directory.CreateDirectory(Directory);
                using (var stream = new FileStream(file, FileMode.Append, FileAccess.Write))
                {
                    for (int i = 0; i < vectors.Length; i++)
                    {
                        stream.Write(Convert.FromHexString(missingHashes[i]));
                        stream.Write(MemoryMarshal.AsBytes(vectors[i].AsSpan()));
                        known[missingHashes[i]] = vectors[i];
                    }
                }
                Embedded += missing.Count;
            }
            return hashes.Select(h => known[h]).ToArray();
        }
    }

    static Dictionary<string, float[]> Load(string file, int dimensions)
    {
        var known = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (!File.Exists(file)) return known;
        byte[] bytes = File.ReadAllBytes(file);
        int record = HashBytes + dimensions * sizeof(float);
        int whole = bytes.Length / record * record;
        for (int offset = 0; offset < whole; offset += record)
            known[Convert.ToHexString(bytes, offset, HashBytes)] = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(offset + HashBytes, dimensions * sizeof(float))).ToArray();
        if (whole != bytes.Length)
        {
            // A torn record from a run that was killed: cut it off so appended records stay aligned.
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Write);
            stream.SetLength(whole);
        }
        return known;
    }

    static string Hash(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
