using EncoderKit.Pretraining;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Pretraining;

public sealed class CorpusPreparationTests
{
    [Fact]
    public void ShardsHoldEachDocumentsTokensAndWordStarts()
    {
        using var folder = new TempFolder();
        string[] documents = PretrainingCorpora.Documents(300, 40);
        documents[5] = "";   // a blank line is no document
        CorpusManifest manifest = PretrainingCorpora.Prepare(folder, documents);
        Assert.True(manifest.Complete);
        Assert.True(manifest.Shards.Count > 3, $"{manifest.Shards.Count} shards: the test wants several");
        using PreparedCorpus corpus = PreparedCorpus.Open(folder.File("corpus"), PretrainingCorpora.BertCased);
        string[] kept = [.. documents.Where(d => d.Length > 0)];
        Assert.Equal(kept.Length, corpus.DocumentCount);
        long tokens = 0;
        var noSpecials = new EncodeOptions { AddSpecialTokens = false };
        for (int d = 0; d < kept.Length; d++)
        {
            Encoding expected = PretrainingCorpora.BertCased.Encode(kept[d], options: noSpecials);
            uint[] stored = corpus.Document(d);
            Assert.Equal(expected.Ids, PretrainingCorpora.Ids(stored));
            // Word starts: a WordPiece token begins a word unless it is a ## continuation.
            Assert.Equal(expected.Tokens.Select(t => !t.StartsWith("##", StringComparison.Ordinal)), stored.Select(t => (t & CorpusManifest.WordStartBit) != 0));
            tokens += stored.Length;
        }
        Assert.Equal(tokens, manifest.Tokens);
        Assert.Equal(kept.Length, manifest.Documents);
    }

    [Fact]
    public void AnInterruptedPreparationResumesToTheSameShards()
    {
        using var folder = new TempFolder();
        string[] documents = PretrainingCorpora.Documents(1500, 12);
        CorpusManifest straight = PretrainingCorpora.Prepare(folder, documents, "straight");

        using var cancel = new CancellationTokenSource();
        var stopAfterFirstBatch = new Progress(cancel.Cancel);
        Assert.ThrowsAny<OperationCanceledException>(() => PretrainingCorpora.Prepare(folder, documents, "resumed", progress: stopAfterFirstBatch, cancellationToken: cancel.Token));
        CorpusManifest partial = CorpusManifest.Read(folder.File("resumed"))!;
        Assert.False(partial.Complete);
        Assert.InRange(partial.Shards.Count, 1, straight.Shards.Count - 1);
        Assert.Throws<EncoderKitException>(() => PreparedCorpus.Open(folder.File("resumed")));
        // What a kill mid-shard leaves: a shard file the manifest does not count, and a temporary file.
        File.WriteAllBytes(folder.File($"resumed/shard-{partial.Shards.Count:D5}.ids"), [1, 2, 3]);
        File.WriteAllBytes(folder.File("resumed/.shard-00077.ids.0123.tmp"), [4]);

        CorpusManifest resumed = PretrainingCorpora.Prepare(folder, documents, "resumed");
        Assert.Equal(straight.Shards, resumed.Shards);
        Assert.Equal(Directory.GetFiles(folder.File("straight")).Select(Path.GetFileName).Order(), Directory.GetFiles(folder.File("resumed")).Select(Path.GetFileName).Order());
        foreach (CorpusShard shard in straight.Shards)
            foreach (string extension in (string[])[CorpusManifest.IdsExtension, CorpusManifest.DocsExtension])
                Assert.Equal(File.ReadAllBytes(folder.File($"straight/{shard.Name}{extension}")), File.ReadAllBytes(folder.File($"resumed/{shard.Name}{extension}")));
    }

    [Fact]
    public void ACorpusOfAnotherTokenizerIsRefused()
    {
        using var folder = new TempFolder();
        PretrainingCorpora.Prepare(folder, PretrainingCorpora.Documents(20, 10));
        Tokenizer other = Tokenizer.FromFolder(ReferenceData.Tokenizer("nomic-bert-2048"));
        var open = Assert.Throws<EncoderKitException>(() => PreparedCorpus.Open(folder.File("corpus"), other));
        Assert.Equal("vocab_sha256", open.Field);
        var again = Assert.Throws<EncoderKitException>(() => PretrainingCorpora.Prepare(folder, [], tokenizer: other));
        Assert.Contains("other tokenizer", again.Problem);
    }

    [Fact]
    public void ParagraphsAndJsonLinesAreDocumentsToo()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("paragraphs.txt"), "first line\nsame document\n\n\nsecond document\n");
        File.WriteAllText(folder.File("records.jsonl"), "{\"text\": \"one\"}\n\n{\"text\": \"two\", \"id\": 2}\n");
        Assert.Equal(["first line\nsame document", "second document"], CorpusDocuments.Read([folder.File("paragraphs.txt")], DocumentFormat.Paragraphs));
        Assert.Equal(["one", "two"], CorpusDocuments.Read([folder.File("records.jsonl")], DocumentFormat.Jsonl));
        File.WriteAllText(folder.File("bad.jsonl"), "{\"body\": \"one\"}\n");
        var e = Assert.Throws<EncoderKitException>(() => CorpusDocuments.Read([folder.File("bad.jsonl")], DocumentFormat.Jsonl).ToList());
        Assert.Equal("text", e.Field);
    }

    sealed class Progress(Action onReport) : IProgress<CorpusProgress>
    {
        public void Report(CorpusProgress value) => onReport();
    }
}
