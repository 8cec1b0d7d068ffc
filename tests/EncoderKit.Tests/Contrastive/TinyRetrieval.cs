using System.Text.Json;
using EncoderKit.Tests.FineTuning;

namespace EncoderKit.Tests.Contrastive;

/// <summary>
/// A synthetic retrieval task for a tiny BERT (hidden 32, 2 layers): every document holds two rare words among common
/// fillers, its queries one of those rare words among other fillers, so only the rare word tells a query's document
/// from the distractors, which share its fillers. The training split and the held-out BEIR split pair the rare words
/// into documents differently, so a held-out query's document was never seen.
/// </summary>
static class TinyRetrieval
{
    public const int RareWords = 120;

    public static readonly string[] Fillers =
    [
        "the", "a", "of", "and", "in", "to", "is", "was", "for", "on", "with", "as", "at", "by", "it", "from",
        "that", "this", "an", "be", "or", "are", "has", "had",
    ];

    static string Rare(int i) => $"rare{i:D3}";

    public static string[] Vocabulary => [.. TinyTasks.Specials, .. Fillers, .. Enumerable.Range(0, RareWords).Select(Rare), "search", "query", "document", "_", ":"];

    public static string Model(string folder, double dropout = 0) => TinyTasks.BaseModel(folder, dropout, seed: 3, Vocabulary);

    /// <summary>Documents pairing the rare words as <paramref name="seed"/> shuffles them: document k holds rare words 2k and 2k+1 of the shuffle.</summary>
    public static (string Document, string[] Queries)[] Documents(int seed)
    {
        var random = new Random(seed);
        int[] order = [.. Enumerable.Range(0, RareWords).OrderBy(_ => random.Next())];
        string Fill(IEnumerable<string> words, int fillers) =>
            string.Join(' ', words.Concat(Enumerable.Range(0, fillers).Select(_ => Fillers[random.Next(Fillers.Length)])).OrderBy(_ => random.Next()));
        return [.. Enumerable.Range(0, RareWords / 2).Select(k =>
        {
            string[] rare = [Rare(order[2 * k]), Rare(order[2 * k + 1])];
            return (Fill(rare, 4), rare.Select(word => Fill([word], 3)).ToArray());
        })];
    }

    /// <summary>
    /// (anchor, positive) JSONL: each query with its document, over several pairings, so that a rare word's partners
    /// change and only matching the query's own word ranks every document right (not clustering training partners).
    /// </summary>
    public static string WriteTrain(string path, params int[] seeds)
    {
        if (seeds.Length == 0) seeds = [11, 12, 13, 14];
        File.WriteAllLines(path, seeds.SelectMany(Documents).SelectMany(d => d.Queries.Select(q => JsonSerializer.Serialize(new { anchor = q, positive = d.Document }))));
        return path;
    }

    /// <summary>A BEIR folder (split "dev") of a pairing the training split does not have: one query per document.</summary>
    public static string WriteBeir(string folder, int seed = 2)
    {
        var documents = Documents(seed);
        Directory.CreateDirectory(Path.Combine(folder, "qrels"));
        File.WriteAllLines(Path.Combine(folder, "corpus.jsonl"), documents.Select((d, k) => JsonSerializer.Serialize(new { _id = $"d{k}", title = "", text = d.Document })));
        File.WriteAllLines(Path.Combine(folder, "queries.jsonl"), documents.Select((d, k) => JsonSerializer.Serialize(new { _id = $"q{k}", text = d.Queries[0] })));
        File.WriteAllLines(Path.Combine(folder, "qrels", "dev.tsv"), ["query-id\tcorpus-id\tscore", .. documents.Select((_, k) => $"q{k}\td{k}\t1")]);
        return folder;
    }
}
