using EncoderKit.Pretraining;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Pretraining;

/// <summary>Small corpora made by the tests, prepared with a reference tokenizer.</summary>
static class PretrainingCorpora
{
    static readonly string[] Words =
        "the a cat dog sat on mat rug ran to park big small red blue house tree unbelievable extraordinary tokenization river mountain".Split(' ');

    public static Tokenizer BertCased { get; } = Tokenizer.FromFolder(ReferenceData.Tokenizer("bert-base-cased"));

    /// <summary><paramref name="count"/> documents of 1 to <paramref name="maxWords"/> words, seeded, one per line.</summary>
    public static string[] Documents(int count, int maxWords, int seed = 3)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(1, maxWords + 1)).Select(_ => Words[random.Next(Words.Length)])))];
    }

    public static CorpusManifest Prepare(TempFolder folder, string[] documents, string output = "corpus", long shardTokens = 1000,
        Tokenizer? tokenizer = null, IProgress<CorpusProgress>? progress = null, CancellationToken cancellationToken = default, int? threads = null)
    {
        string input = folder.File("input.txt");
        if (!File.Exists(input)) File.WriteAllLines(input, documents);
        var options = new CorpusPreparationOptions { ShardTokens = shardTokens };
        if (threads is { } count) options = options with { Threads = count };
        return CorpusPreparation.Prepare(tokenizer ?? BertCased, [input], folder.File(output), options, progress, cancellationToken);
    }

    public static int[] Ids(uint[] stored) => [.. stored.Select(t => (int)(t & ~CorpusManifest.WordStartBit))];
}
