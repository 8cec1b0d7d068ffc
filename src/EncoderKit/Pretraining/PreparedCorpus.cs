using System.IO.MemoryMappedFiles;
using EncoderKit.Tokenization;

namespace EncoderKit.Pretraining;

/// <summary>
/// A prepared corpus (<see cref="CorpusManifest"/>), its shards memory-mapped: documents by index, each as token ids
/// and word-start flags, without reading the corpus into memory.
/// </summary>
public sealed class PreparedCorpus : IDisposable
{
    readonly List<(MemoryMappedFile Ids, MemoryMappedViewAccessor IdsView, long[] Offsets)> shards = [];
    readonly long[] firstDocument;   // per shard, the global index of its first document

    PreparedCorpus(string folder, CorpusManifest manifest)
    {
        Folder = folder;
        Manifest = manifest;
        firstDocument = new long[manifest.Shards.Count + 1];
        try
        {
            for (int s = 0; s < manifest.Shards.Count; s++)
            {
                CorpusShard shard = manifest.Shards[s];
                string ids = Path.Combine(folder, shard.Name + CorpusManifest.IdsExtension), docs = Path.Combine(folder, shard.Name + CorpusManifest.DocsExtension);
                if (!File.Exists(ids) || new FileInfo(ids).Length != manifest.TokenBytes * shard.Tokens)
                    throw new EncoderKitException(ErrorKind.BadInput, $"missing, or not {shard.Tokens} tokens as the manifest says", ids);
                if (!File.Exists(docs) || new FileInfo(docs).Length != 8 * (shard.Documents + 1))
                    throw new EncoderKitException(ErrorKind.BadInput, $"missing, or not {shard.Documents + 1} offsets as the manifest says", docs);
                var bytes = File.ReadAllBytes(docs);
                long[] offsets = new long[shard.Documents + 1];
                Buffer.BlockCopy(bytes, 0, offsets, 0, bytes.Length);
                if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("token shards are little-endian");
                if (offsets[0] != 0 || offsets[^1] != shard.Tokens || offsets.Zip(offsets.Skip(1)).Any(p => p.First > p.Second))
                    throw new EncoderKitException(ErrorKind.BadInput, "document offsets are not increasing from 0 to the token count", docs);
                var file = MemoryMappedFile.CreateFromFile(ids, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                shards.Add((file, file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read), offsets));
                firstDocument[s + 1] = firstDocument[s] + shard.Documents;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Folder { get; }
    public CorpusManifest Manifest { get; }
    public long DocumentCount => firstDocument[^1];

    /// <summary>Opens the corpus in <paramref name="folder"/>; with <paramref name="tokenizer"/>, checks it is the one the corpus was prepared with.</summary>
    /// <exception cref="EncoderKitException">No complete corpus there, or it was prepared with another vocabulary.</exception>
    public static PreparedCorpus Open(string folder, Tokenizer? tokenizer = null)
    {
        string manifestPath = Path.Combine(folder, CorpusManifest.FileName);
        CorpusManifest manifest = CorpusManifest.Read(folder)
            ?? throw new EncoderKitException(ErrorKind.MissingFile, "no prepared corpus here (run encoderkit prepare-corpus)", manifestPath);
        if (!manifest.Complete)
            throw new EncoderKitException(ErrorKind.BadInput, "the corpus preparation did not finish; run prepare-corpus again to complete it", manifestPath);
        if (manifest.Documents == 0) throw new EncoderKitException(ErrorKind.BadInput, "the corpus holds no documents", manifestPath);
        if (tokenizer is not null && CorpusManifest.VocabularyHash(tokenizer) != manifest.VocabSha256)
            throw new EncoderKitException(ErrorKind.BadInput, $"prepared with another vocabulary ({manifest.Tokenizer}, {manifest.VocabSize} tokens) than the tokenizer given ({tokenizer.VocabSize} tokens)", manifestPath, "vocab_sha256");
        return new PreparedCorpus(folder, manifest);
    }

    /// <summary>The tokens of document <paramref name="index"/>: the id in bits 0–30, bit 31 the word start (uint16 shards widened).</summary>
    public uint[] Document(long index)
    {
        var (view, offsets, local) = Locate(index);
        var tokens = new uint[offsets[local + 1] - offsets[local]];
        if (Manifest.TokenBytes == 4)
        {
            view.ReadArray(4 * offsets[local], tokens, 0, tokens.Length);
            return tokens;
        }
        var narrow = new ushort[tokens.Length];
        view.ReadArray(2 * offsets[local], narrow, 0, narrow.Length);
        for (int i = 0; i < narrow.Length; i++) tokens[i] = CorpusManifest.Widen(narrow[i]);
        return tokens;
    }

    /// <summary>The length of document <paramref name="index"/> in tokens.</summary>
    public int DocumentLength(long index)
    {
        var (_, offsets, local) = Locate(index);
        return (int)(offsets[local + 1] - offsets[local]);
    }

    (MemoryMappedViewAccessor View, long[] Offsets, long Local) Locate(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, DocumentCount);
        int shard = Array.BinarySearch(firstDocument, index);
        if (shard < 0) shard = ~shard - 1;
        while (firstDocument[shard + 1] <= index) shard++;   // past shards that end where this one starts
        var (_, view, offsets) = shards[shard];
        return (view, offsets, index - firstDocument[shard]);
    }

    public void Dispose()
    {
        foreach (var (file, view, _) in shards)
        {
            view.Dispose();
            file.Dispose();
        }
        shards.Clear();
    }
}
