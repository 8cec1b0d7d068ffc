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

    /// <summary>Threads tokenizing documents (≥ 1); the shards are the same for any count.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>How the tokenizer was named (recorded in the manifest).</summary>
    public string? TokenizerName { get; init; }
}

/// <summary>
/// prepare-corpus: tokenizes documents once, in parallel, into the token shards <see cref="CorpusManifest"/> describes,
/// with the word-start marks whole-word masking needs. Documents go through in batches (memory holds one batch and one
/// shard), tokenized on <see cref="CorpusPreparationOptions.Threads"/> threads and stored in input order, so the shards
/// do not depend on the thread count. Resumable: a run that finds a manifest of the same inputs and tokenizer continues
/// after its last complete shard.
/// </summary>
public static class CorpusPreparation
{
    // Documents per thread in a batch: enough that the threads rarely wait for the batch's longest document.
    const int BatchDocumentsPerThread = 64, MinimumBatchDocuments = 512;

    /// <exception cref="EncoderKitException">The output holds a corpus of other inputs or another tokenizer, or an input is bad.</exception>
    public static CorpusManifest Prepare(Tokenizer tokenizer, IReadOnlyList<string> inputs, string output, CorpusPreparationOptions options,
        IProgress<CorpusProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (options.ShardTokens < 1) throw new EncoderKitException(ErrorKind.BadInput, $"shard size {options.ShardTokens} is not ≥ 1", field: "shard_size");
        if (options.Threads < 1) throw new EncoderKitException(ErrorKind.BadInput, $"thread count {options.Threads} is not ≥ 1", field: "threads");
        List<string> files = CorpusDocuments.Files(inputs);
        Directory.CreateDirectory(output);
        var fresh = new CorpusManifest
        {
            Tokenizer = options.TokenizerName ?? "",
            VocabSize = tokenizer.VocabSize,
            VocabSha256 = CorpusManifest.VocabularyHash(tokenizer),
            TokenBytes = CorpusManifest.TokenBytesFor(tokenizer.VocabSize),
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
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Threads, CancellationToken = cancellationToken };
            int batchDocuments = Math.Max(MinimumBatchDocuments, BatchDocumentsPerThread * options.Threads);
            foreach (string[] batch in CorpusDocuments.Read(files, options.Format, options.TextField).Skip(checked((int)Math.Min(done, int.MaxValue))).Chunk(batchDocuments))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var encoded = new uint[batch.Length][];
                try
                {
                    Parallel.For(0, batch.Length, parallel, i => encoded[i] = Encode(tokenizer, batch[i], encodeOptions, options.WordSegmentation, segmenters.Value));
                }
                catch (AggregateException e)
                {
                    // A document's problem (MeCab failing, say) as itself, not wrapped by the loop.
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
                }
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

    static uint[] Encode(Tokenizer tokenizer, string text, EncodeOptions options, WordSegmentation segmentation, MecabSegmenter? mecab)
    {
        List<(int Start, int End)>? words = null;
        if (segmentation == WordSegmentation.PreSegmented) (text, words) = WordBoundaries.RemoveSpaces(text);
        if (text.Length == 0) return [];
        if (segmentation == WordSegmentation.Mecab) words = mecab!.Words(text);
        Encoding encoding = tokenizer.Encode(text, options: options);
        bool[] wordStarts = WordBoundaries.Of(tokenizer, encoding, words);
        var stored = new uint[encoding.Length];
        for (int i = 0; i < stored.Length; i++)
            stored[i] = (uint)encoding.Ids[i] | (wordStarts[i] ? CorpusManifest.WordStartBit : 0);
        return stored;
    }

    static CorpusManifest Flush(string output, CorpusManifest manifest, ShardBuffer shard, long inputDocumentsDone)
    {
        string name = "shard-" + manifest.Shards.Count.ToString("D5", CultureInfo.InvariantCulture);
        int width = manifest.TokenBytes;
        AtomicFile.Write(Path.Combine(output, name + CorpusManifest.IdsExtension), stream =>
        {
            var bytes = new byte[width * 65536];
            for (int start = 0; start < shard.Ids.Count; start += 65536)
            {
                int count = Math.Min(65536, shard.Ids.Count - start);
                for (int i = 0; i < count; i++)
                {
                    uint token = shard.Ids[start + i];
                    if (width == 4) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4 * i), token);
                    else BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), CorpusManifest.Narrow(token));
                }
                stream.Write(bytes, 0, width * count);
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
