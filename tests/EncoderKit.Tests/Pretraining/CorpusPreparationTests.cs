using EncoderKit.Pretraining;
using EncoderKit.Tests.Cli;
using EncoderKit.Tokenization;
using Parquet;
using Parquet.Schema;

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
        // Two threads: a batch of 512 documents, a part of the corpus on any machine.
        Assert.ThrowsAny<OperationCanceledException>(() => PretrainingCorpora.Prepare(folder, documents, "resumed", progress: stopAfterFirstBatch, cancellationToken: cancel.Token, threads: 2));
        CorpusManifest partial = CorpusManifest.Read(folder.File("resumed"))!;
        Assert.False(partial.Complete);
        Assert.InRange(partial.Shards.Count, 1, straight.Shards.Count - 1);
        Assert.Throws<EncoderKitException>(() => PreparedCorpus.Open(folder.File("resumed")));
        // What a kill mid-shard leaves: a shard file the manifest does not count, and a temporary file.
        File.WriteAllBytes(folder.File($"resumed/shard-{partial.Shards.Count:D5}.ids"), [1, 2, 3]);
        File.WriteAllBytes(folder.File("resumed/.shard-00077.ids.0123.tmp"), [4]);

        CorpusManifest resumed = PretrainingCorpora.Prepare(folder, documents, "resumed");
        Assert.Equal(straight.Shards, resumed.Shards);
        AssertSameFiles(folder.File("straight"), folder.File("resumed"));
    }

    [Fact]
    public void TheShardsAreTheSameOnAnyNumberOfThreads()
    {
        using var folder = new TempFolder();
        // Documents of 1 to 200 words: threads finish out of order, and batches (512 documents, 1,024 at 16 threads) end mid-shard.
        string[] documents = PretrainingCorpora.Documents(2500, 200);
        CorpusManifest one = PretrainingCorpora.Prepare(folder, documents, "one", shardTokens: 20_000, threads: 1);
        Assert.True(one.Shards.Count > 5, $"{one.Shards.Count} shards: the test wants several");
        foreach (int threads in (int[])[3, 16])
        {
            PretrainingCorpora.Prepare(folder, documents, $"threads-{threads}", shardTokens: 20_000, threads: threads);
            AssertSameFiles(folder.File("one"), folder.File($"threads-{threads}"));
        }
    }

    // Every file of the two folders, the manifest included, byte for byte.
    static void AssertSameFiles(string expected, string actual)
    {
        string[] names = [.. Directory.GetFiles(expected).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];
        Assert.Contains(CorpusManifest.FileName, names);
        Assert.Equal(names, Directory.GetFiles(actual).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal));
        foreach (string name in names)
            Assert.True(File.ReadAllBytes(Path.Combine(expected, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, name))), $"{name} differs");
    }

    [Theory]
    [InlineData("bert-base-cased", 2)]                      // 28,996 ids: 15 bits
    [InlineData("tohokunlp-bert-500m-sq4096-alpha", 4)]     // 99,574 ids: more than 15 bits
    public void TokensAreStoredAsNarrowAsTheVocabularyAllows(string name, int tokenBytes)
    {
        using var folder = new TempFolder();
        Tokenizer tokenizer = Tokenizer.FromFolder(ReferenceData.Tokenizer(name));
        string[] documents = PretrainingCorpora.Documents(200, 30);
        CorpusManifest manifest = PretrainingCorpora.Prepare(folder, documents, tokenizer: tokenizer);
        Assert.Equal(tokenBytes, manifest.TokenBytes);
        Assert.Equal(tokenBytes, CorpusManifest.Read(folder.File("corpus"))!.TokenBytes);
        Assert.Equal(tokenBytes * manifest.Tokens, manifest.Shards.Sum(s => new FileInfo(folder.File($"corpus/{s.Name}{CorpusManifest.IdsExtension}")).Length));
        using PreparedCorpus corpus = PreparedCorpus.Open(folder.File("corpus"), tokenizer);
        var noSpecials = new EncodeOptions { AddSpecialTokens = false };
        Assert.Contains(Enumerable.Range(0, documents.Length), d => corpus.Document(d).Any(t => (t & CorpusManifest.WordStartBit) == 0));
        for (int d = 0; d < documents.Length; d++)
        {
            Encoding expected = tokenizer.Encode(documents[d], options: noSpecials);
            Assert.Equal(expected.Ids, PretrainingCorpora.Ids(corpus.Document(d)));
            Assert.Equal(WordBoundaries.Of(tokenizer, expected), corpus.Document(d).Select(t => (t & CorpusManifest.WordStartBit) != 0));
        }
    }

    [Fact]
    public void AVersionOneCorpusReadsAsUint32()
    {
        using var folder = new TempFolder();
        Tokenizer tokenizer = Tokenizer.FromFolder(ReferenceData.Tokenizer("tohokunlp-bert-500m-sq4096-alpha"));
        string[] documents = PretrainingCorpora.Documents(50, 20);
        PretrainingCorpora.Prepare(folder, documents, tokenizer: tokenizer);
        string manifestPath = folder.File($"corpus/{CorpusManifest.FileName}");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        json["version"] = 1;
        Assert.True(json.Remove("token_bytes"));
        File.WriteAllText(manifestPath, json.ToJsonString());
        using PreparedCorpus corpus = PreparedCorpus.Open(folder.File("corpus"), tokenizer);
        Assert.Equal(4, corpus.Manifest.TokenBytes);
        Assert.Equal(tokenizer.Encode(documents[7], options: new EncodeOptions { AddSpecialTokens = false }).Ids, PretrainingCorpora.Ids(corpus.Document(7)));
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

    [Fact]
    public void PreSegmentedWordsAreTheUnitsAndTheirSpacesAreRemoved()
    {
        using var folder = new TempFolder();
        Tokenizer tokenizer = Tokenizer.FromFolder(ReferenceData.Tokenizer("tohokunlp-bert-500m-sq4096-alpha"));
        // As MeCab -Owakati with UniDic writes them (see WholeWordMaskingTests), one document per line.
        string[] segmented =
        [
            "東京 都 に 住ん で い ます 。",
            "今日 は 良い 天気 です ね 。 東京 都 に 住ん で い ます 。",
            "  吾輩 は 猫 で ある 。  名前 は まだ 無い 。",
        ];
        File.WriteAllLines(folder.File("segmented.txt"), segmented);
        var options = new CorpusPreparationOptions { WordSegmentation = WordSegmentation.PreSegmented, Threads = 2 };
        CorpusPreparation.Prepare(tokenizer, [folder.File("segmented.txt")], folder.File("corpus"), options);
        using PreparedCorpus corpus = PreparedCorpus.Open(folder.File("corpus"), tokenizer);
        Assert.Equal(WordSegmentation.PreSegmented, corpus.Manifest.WordSegmentation);
        var noSpecials = new EncodeOptions { AddSpecialTokens = false };
        var flags = new List<bool>();
        for (int d = 0; d < segmented.Length; d++)
        {
            string text = segmented[d].Replace(" ", "", StringComparison.Ordinal);
            Encoding expected = tokenizer.Encode(text, options: noSpecials);
            uint[] stored = corpus.Document(d);
            Assert.Equal(expected.Ids, PretrainingCorpora.Ids(stored));
            // Where the words begin in the text without spaces, counted here from the segmented line: a token begins a
            // unit when it begins where a word does (one starting inside a word continues that word's unit).
            var wordStarts = new HashSet<int>();
            int position = 0;
            for (int c = 0; c < segmented[d].Length; c++)
            {
                if (segmented[d][c] == ' ') continue;
                if (c == 0 || segmented[d][c - 1] == ' ') wordStarts.Add(position);
                position++;
            }
            bool[] starts = [.. stored.Select(t => (t & CorpusManifest.WordStartBit) != 0)];
            Assert.Equal(expected.Offsets.Select(o => wordStarts.Contains(o.Start)), starts);
            flags.AddRange(starts);
        }
        // Both kinds occur: tokens that begin a word, and tokens inside one (住ん is 住 + ん…, so the second continues it).
        Assert.Contains(true, flags);
        Assert.Contains(false, flags);
    }

    /// <summary>Needs libmecab2 and unidic-mecab (.ci/install-mecab.sh), as WholeWordMaskingTests does.</summary>
    [Fact]
    public void MecabWordStartsComeFromOneTaggerPerThread()
    {
        using var folder = new TempFolder();
        Tokenizer tokenizer = Tokenizer.FromFolder(ReferenceData.Tokenizer("tohokunlp-bert-500m-sq4096-alpha"));
        string[] sentences = ["東京都に住んでいます。", "今日は良い天気ですね。", "吾輩は猫である。", "名前はまだ無い。"];
        var random = new Random(8);
        string[] documents = [.. Enumerable.Range(0, 1200).Select(_ => string.Concat(Enumerable.Range(0, random.Next(1, 6)).Select(_ => sentences[random.Next(sentences.Length)])))];
        File.WriteAllLines(folder.File("ja.txt"), documents);
        var options = new CorpusPreparationOptions { WordSegmentation = WordSegmentation.Mecab, Threads = 4, ShardTokens = 3000 };
        CorpusManifest manifest = CorpusPreparation.Prepare(tokenizer, [folder.File("ja.txt")], folder.File("corpus"), options);
        Assert.True(manifest.Shards.Count > 2, $"{manifest.Shards.Count} shards: the test wants several");
        using PreparedCorpus corpus = PreparedCorpus.Open(folder.File("corpus"), tokenizer);
        using MecabSegmenter mecab = MecabSegmenter.Create();
        var noSpecials = new EncodeOptions { AddSpecialTokens = false };
        int inside = 0;
        for (int d = 0; d < documents.Length; d++)
        {
            Encoding expected = tokenizer.Encode(documents[d], options: noSpecials);
            uint[] stored = corpus.Document(d);
            Assert.Equal(expected.Ids, PretrainingCorpora.Ids(stored));
            bool[] starts = [.. stored.Select(t => (t & CorpusManifest.WordStartBit) != 0)];
            Assert.Equal(WordBoundaries.Of(tokenizer, expected, mecab.Words(documents[d])), starts);
            inside += starts.Count(s => !s);
        }
        Assert.True(inside > 0, "no token inside a MeCab word: the test would not tell MeCab's units from tokens");
    }

    [Fact]
    public async Task ParquetRowsAreDocumentsRowGroupByRowGroup()
    {
        using var folder = new TempFolder();
        string[] documents = PretrainingCorpora.Documents(300, 25);
        var text = new DataField<string>("content", true);
        var id = new DataField<long>("id");
        await WriteParquet(folder.File("a.parquet"), text, id, [documents[..120], documents[120..250]]);
        await WriteParquet(folder.File("b.parquet"), text, id, [documents[250..]]);

        string[] files = [folder.File("a.parquet"), folder.File("b.parquet")];
        Assert.Equal(documents, CorpusDocuments.Read(files, DocumentFormat.Parquet, "content"));
        var options = new CorpusPreparationOptions { Format = DocumentFormat.Parquet, TextField = "content", ShardTokens = 500 };
        CorpusManifest manifest = CorpusPreparation.Prepare(PretrainingCorpora.BertCased, files, folder.File("corpus"), options);
        Assert.Equal(DocumentFormat.Parquet, manifest.DocumentFormat);
        using PreparedCorpus corpus = PreparedCorpus.Open(folder.File("corpus"), PretrainingCorpora.BertCased);
        Assert.Equal(documents.Length, corpus.DocumentCount);
        var noSpecials = new EncodeOptions { AddSpecialTokens = false };
        for (int d = 0; d < documents.Length; d++)
            Assert.Equal(PretrainingCorpora.BertCased.Encode(documents[d], options: noSpecials).Ids, PretrainingCorpora.Ids(corpus.Document(d)));
    }

    [Fact]
    public async Task ParquetErrorsNameTheFileAndTheColumnOrRow()
    {
        using var folder = new TempFolder();
        var text = new DataField<string>("text", true);
        var id = new DataField<long>("id");
        string file = folder.File("bad.parquet");
        await WriteParquet(file, text, id, [["one", "two"], ["three", null, "five"]]);

        var missing = Assert.Throws<EncoderKitException>(() => CorpusDocuments.Read([file], DocumentFormat.Parquet, "body").ToList());
        Assert.Equal(("body", file), (missing.Field, missing.File));
        Assert.Contains("text, id", missing.Problem);
        var notText = Assert.Throws<EncoderKitException>(() => CorpusDocuments.Read([file], DocumentFormat.Parquet, "id").ToList());
        Assert.Equal(("id", file), (notText.Field, notText.File));
        var nullRow = Assert.Throws<EncoderKitException>(() => CorpusDocuments.Read([file], DocumentFormat.Parquet).ToList());
        Assert.Equal(("text", file), (nullRow.Field, nullRow.File));
        Assert.Contains("row group 1, row 1", nullRow.Problem);
        var asLines = Assert.Throws<EncoderKitException>(() => CorpusDocuments.Read([file], DocumentFormat.Lines).ToList());
        Assert.Contains("--format parquet", asLines.Problem);
        File.WriteAllText(folder.File("fake.parquet"), "not parquet at all\n");
        var notParquet = Assert.Throws<EncoderKitException>(() => CorpusDocuments.Read([folder.File("fake.parquet")], DocumentFormat.Parquet).ToList());
        Assert.Equal(folder.File("fake.parquet"), notParquet.File);
    }

    [Fact]
    public async Task TheCommandReadsPreSegmentedParquetOnTheThreadsGiven()
    {
        using var folder = new TempFolder();
        string tokenizerFolder = ReferenceData.Tokenizer("tohokunlp-bert-500m-sq4096-alpha");
        string?[] segmented = ["東京 都 に 住ん で い ます 。", "今日 は 良い 天気 です ね 。"];
        var text = new DataField<string>("content", true);
        await WriteParquet(folder.File("ja.parquet"), text, new DataField<long>("id"), [segmented]);
        string[] command = ["prepare-corpus", "--tokenizer", tokenizerFolder, "--input", folder.File("ja.parquet"), "--output", folder.File("corpus"),
            "--format", "parquet", "--text-field", "content", "--pre-segmented", "--threads", "2"];
        var run = CliRunner.Run("", command);
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("2 documents", run.Out);
        Tokenizer tokenizer = Tokenizer.FromFolder(tokenizerFolder);
        using PreparedCorpus corpus = PreparedCorpus.Open(folder.File("corpus"), tokenizer);
        Assert.Equal((DocumentFormat.Parquet, WordSegmentation.PreSegmented), (corpus.Manifest.DocumentFormat, corpus.Manifest.WordSegmentation));
        Assert.Equal(tokenizer.Encode("今日は良い天気ですね。", options: new EncodeOptions { AddSpecialTokens = false }).Ids, PretrainingCorpora.Ids(corpus.Document(1)));

        var both = CliRunner.Run("", [.. command, "--word-segmenter", "mecab"]);
        Assert.NotEqual(0, both.Exit);
        Assert.Contains("--pre-segmented", both.Err);
        var noThreads = CliRunner.Run("", [.. command[..^1], "0"]);
        Assert.NotEqual(0, noThreads.Exit);
        Assert.Contains("thread count 0", noThreads.Err);
    }

    static async Task WriteParquet(string path, DataField<string> text, DataField<long> id, string?[][] rowGroups)
    {
        await using FileStream stream = File.Create(path);
        await using ParquetWriter writer = await ParquetWriter.CreateAsync(new ParquetSchema(text, id), stream);
        foreach (string?[] rows in rowGroups)
        {
            using ParquetRowGroupWriter group = writer.CreateRowGroup();
            await group.WriteAsync(text, rows!);
            await group.WriteAsync<long>(id, Enumerable.Range(0, rows.Length).Select(i => (long)i).ToArray());
        }
    }

    sealed class Progress(Action onReport) : IProgress<CorpusProgress>
    {
        public void Report(CorpusProgress value) => onReport();
    }
}
