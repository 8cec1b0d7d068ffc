using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using EncoderKit.IO;
using EncoderKit.Tokenization;

namespace EncoderKit.Pretraining;

/// <summary>How far a preparation has come, for a progress line.</summary>
public sealed record CorpusProgress(long Documents, long Tokens, long Characters, TimeSpan Elapsed);

/// <summary>What prepare-corpus reads and how it tokenizes.</summary>
public sealed record CorpusPreparationOptions
{
    public DocumentFormat Format { get; init; } = DocumentFormat.Lines;
    public string TextField { get; init; } = "text";
    public WordSegmentation WordSegmentation { get; init; } = WordSegmentation.Tokenizer;

    /// <summary>MeCab's dictionary folder; null for the first installed (<see cref="MecabSegmenter.DictionaryFolders"/>).</summary>
    public string? MecabDictionary { get; init; }

    /// <summary>Tokens per shard (a shard closes after the document that reaches it).</summary>
    public long ShardTokens { get; init; } = 1 << 26;

    /// <summary>How the tokenizer was named (recorded in the manifest).</summary>
    public string? TokenizerName { get; init; }
}

/// <summary>
/// prepare-corpus: tokenizes documents once, in parallel, into the token shards <see cref="CorpusManifest"/> describes,
/// with the word-start marks whole-word masking needs. Resumable: a run that finds a manifest of the same inputs and
/// tokenizer continues after its last complete shard.
/// </summary>
public static class CorpusPreparation
{
    const int BatchDocuments = 512;

    /// <exception cref="EncoderKitException">The output holds a corpus of other inputs or another tokenizer, or an input is bad.</exception>
    public static CorpusManifest Prepare(Tokenizer tokenizer, IReadOnlyList<string> inputs, string output, CorpusPreparationOptions options,
        IProgress<CorpusProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (options.ShardTokens < 1) throw new EncoderKitException(ErrorKind.BadInput, $"shard size {options.ShardTokens} is not ≥ 1", field: "shard_size");
        List<string> files = CorpusDocuments.Files(inputs);
        Directory.CreateDirectory(output);
        var fresh = new CorpusManifest
        {
            Tokenizer = options.TokenizerName ?? "",
            VocabSize = tokenizer.VocabSize,
            VocabSha256 = CorpusManifest.VocabularyHash(tokenizer),
            WordSegmentation = options.WordSegmentation,
            DocumentFormat = options.Format,
            Inputs = files,
        };
        CorpusManifest manifest = CorpusManifest.Read(output) is { } existing ? Continue(existing, fresh, output) : fresh;
        if (manifest.Complete) return manifest;
        RemoveUncounted(output, manifest);

        var clock = Stopwatch.StartNew();
        long characters = 0;
        using var segmenters = new ThreadLocal<MecabSegmenter?>(
            () => options.WordSegmentation == WordSegmentation.Mecab ? MecabSegmenter.Create(options.MecabDictionary) : null, trackAllValues: true);
        try
        {
            var shard = new ShardBuffer();
            long done = manifest.InputDocumentsDone;
            var encodeOptions = new EncodeOptions { AddSpecialTokens = false };
            foreach (string[] batch in CorpusDocuments.Read(files, options.Format, options.TextField).Skip(checked((int)Math.Min(done, int.MaxValue))).Chunk(BatchDocuments))
            {
                cancellationToken.ThrowIfCancellationRequested();
                uint[][] encoded = [.. batch.AsParallel().AsOrdered().WithCancellation(cancellationToken).Select(text => Encode(tokenizer, text, encodeOptions, segmenters.Value))];
                foreach (uint[] document in encoded)
                {
                    done++;
                    if (document.Length > 0) shard.Add(document);
                    if (shard.Tokens >= options.ShardTokens) manifest = Flush(output, manifest, shard, done);
                }
                characters += batch.Sum(t => (long)t.Length);
                progress?.Report(new CorpusProgress(manifest.Documents + shard.Documents, manifest.Tokens + shard.Tokens, characters, clock.Elapsed));
            }
            if (shard.Documents > 0) manifest = Flush(output, manifest, shard, done);
            manifest = manifest with { InputDocumentsDone = done, Complete = true };
            manifest.Write(output);
            return manifest;
        }
        finally
        {
            foreach (MecabSegmenter? segmenter in segmenters.Values) segmenter?.Dispose();
        }
    }

    static CorpusManifest Continue(CorpusManifest existing, CorpusManifest fresh, string output)
    {
        string Mismatch(string what) => throw new EncoderKitException(ErrorKind.BadInput,
            $"the folder holds a corpus prepared with other {what}; choose a new output folder", Path.Combine(output, CorpusManifest.FileName));
        if (existing.VocabSha256 != fresh.VocabSha256) Mismatch("tokenizer");
        if (!existing.Inputs.SequenceEqual(fresh.Inputs)) Mismatch("inputs");
        if (existing.WordSegmentation != fresh.WordSegmentation || existing.DocumentFormat != fresh.DocumentFormat) Mismatch("options");
        return existing;
    }

    // Shard files the manifest does not list are what an interrupted run left: never counted, rewritten from the inputs.
    static void RemoveUncounted(string output, CorpusManifest manifest)
    {
        var counted = manifest.Shards.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (string file in Directory.GetFiles(output))
        {
            string name = Path.GetFileName(file);
            bool shardFile = name.StartsWith("shard-", StringComparison.Ordinal) || (name.StartsWith('.') && name.EndsWith(".tmp", StringComparison.Ordinal));
            if (shardFile && !counted.Contains(Path.GetFileNameWithoutExtension(name))) File.Delete(file);
        }
    }

    static uint[] Encode(Tokenizer tokenizer, string text, EncodeOptions options, MecabSegmenter? mecab)
    {
        if (text.Length == 0) return [];
        Encoding encoding = tokenizer.Encode(text, options: options);
        bool[] wordStarts = WordBoundaries.Of(tokenizer, encoding, mecab?.Words(text));
        var stored = new uint[encoding.Length];
        for (int i = 0; i < stored.Length; i++)
            stored[i] = (uint)encoding.Ids[i] | (wordStarts[i] ? CorpusManifest.WordStartBit : 0);
        return stored;
    }

    static CorpusManifest Flush(string output, CorpusManifest manifest, ShardBuffer shard, long inputDocumentsDone)
    {
        string name = "shard-" + manifest.Shards.Count.ToString("D5", CultureInfo.InvariantCulture);
        AtomicFile.Write(Path.Combine(output, name + CorpusManifest.IdsExtension), stream =>
        {
            var bytes = new byte[4 * 65536];
            for (int start = 0; start < shard.Ids.Count; start += 65536)
            {
                int count = Math.Min(65536, shard.Ids.Count - start);
                for (int i = 0; i < count; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4 * i), shard.Ids[start + i]);
                stream.Write(bytes, 0, 4 * count);
            }
        });
        AtomicFile.Write(Path.Combine(output, name + CorpusManifest.DocsExtension), stream =>
        {
            var bytes = new byte[8];
            foreach (long offset in shard.Offsets)
            {
                BinaryPrimitives.WriteInt64LittleEndian(bytes, offset);
                stream.Write(bytes);
            }
        });
        var next = manifest with
        {
            Shards = [.. manifest.Shards, new CorpusShard(name, shard.Documents, shard.Tokens)],
            InputDocumentsDone = inputDocumentsDone,
        };
        next.Write(output);
        shard.Clear();
        return next;
    }

    sealed class ShardBuffer
    {
        public List<uint> Ids { get; } = [];
        public List<long> Offsets { get; } = [0];
        public long Tokens => Ids.Count;
        public long Documents => Offsets.Count - 1;

        public void Add(uint[] document)
        {
            Ids.AddRange(document);
            Offsets.Add(Ids.Count);
        }

        public void Clear()
        {
            Ids.Clear();
            Offsets.Clear();
            Offsets.Add(0);
        }
    }
}
