using System.Diagnostics;
using System.Text;
using EncoderKit.Tokenization;

namespace EncoderKit.Bench;

/// <summary>
/// Tokenization throughput per family: MB/s (UTF-8 bytes of input) and tokens/s, on one thread and on all cores,
/// over a generated 10 MB corpus (about 60% English-like lines, 30% Japanese, 10% code-like; 8–128 words a line)
/// or over any text file (<c>--corpus FILE</c>, one text per line) so the same file can be measured with other tools.
/// Prints figures; never passes or fails on time.
/// </summary>
/// <remarks>
/// Usage: <c>tokenizers [--corpus FILE] [--write-corpus FILE] [--tokenizers DIR] [--families a,b] [--mb N] [--repeat N]</c>.
/// DIR holds one folder per family (default: ../shared/reference/tokenizers beside the repository).
/// </remarks>
public static class TokenizerBench
{
    static readonly string[] DefaultFamilies =
        ["bert-base-cased", "nomic-bert-2048", "modernbert-embed-base", "tohokunlp-bert-500m-sq4096-alpha"];

    public static void Run(string[] args)
    {
        string? corpusFile = Arg(args, "--corpus");
        string? writeCorpus = Arg(args, "--write-corpus");
        string dir = Arg(args, "--tokenizers") ?? LocateReference();
        var families = Arg(args, "--families")?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? DefaultFamilies;
        double megabytes = double.Parse(Arg(args, "--mb") ?? "10", System.Globalization.CultureInfo.InvariantCulture);
        int repeat = int.Parse(Arg(args, "--repeat") ?? "1");

        var lines = corpusFile is not null ? File.ReadAllLines(corpusFile) : GenerateCorpus((long)(megabytes * 1_000_000), seed: 1234);
        if (writeCorpus is not null) File.WriteAllLines(writeCorpus, lines);
        long bytes = lines.Sum(l => (long)System.Text.Encoding.UTF8.GetByteCount(l) + 1);
        Console.WriteLine($"corpus: {(corpusFile ?? "generated")}, {lines.Length:N0} lines, {bytes / 1e6:F2} MB UTF-8; {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"family",-34} {"mode",-10} {"MB/s",8} {"tokens/s",12} {"tokens",12} {"seconds",8}");
        foreach (var family in families)
        {
            var tokenizer = Tokenizer.FromFolder(Path.Combine(dir, family));
            tokenizer.EncodeBatch(lines.Take(2000).ToList());   // warm up: JIT, caches
            for (int r = 0; r < repeat; r++)
            {
                Measure(family, "1 thread", bytes, () =>
                {
                    long tokens = 0;
                    foreach (var line in lines) tokens += tokenizer.Encode(line).Length;
                    return tokens;
                });
                Measure(family, "all cores", bytes, () =>
                {
                    long tokens = 0;
                    const int chunk = 4096;
                    for (int i = 0; i < lines.Length; i += chunk)
                        foreach (var e in tokenizer.EncodeBatch(new ArraySegment<string>(lines, i, Math.Min(chunk, lines.Length - i))))
                            tokens += e.Length;
                    return tokens;
                });
            }
        }
    }

    static void Measure(string family, string mode, long bytes, Func<long> run)
    {
        GC.Collect();
        var watch = Stopwatch.StartNew();
        long tokens = run();
        double s = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"{family,-34} {mode,-10} {bytes / 1e6 / s,8:F2} {tokens / s,12:N0} {tokens,12:N0} {s,8:F2}");
    }

    static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    static string LocateReference()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EncoderKit.slnx")))
                return Path.GetFullPath(Path.Combine(d.FullName, "..", "shared", "reference", "tokenizers"));
        throw new InvalidOperationException("cannot find the repository root; pass --tokenizers DIR");
    }

    // ---- the generated corpus -------------------------------------------------------------------------------

    static readonly string[] English = ("the of and to in is was that for it as with be on by this are from or at an not which have " +
        "but had they his her she he you we their has were been one all would there will can more if no out so said what up its about " +
        "into than them only other new some could time these two may then do first any my now such like our over man me even most made " +
        "after also did many before must through back years where much your way well down should because each just those people how too " +
        "little state good very make world still own see men work long get here between both life being under never day same another know " +
        "while last might us great old year off come since against go came right used take three tokenization embedding transformer " +
        "attention model encoder representation dimensionality reduction algorithm Laurens Maaten TSNE BERT RoBERTa ModernBERT Tokyo " +
        "Paris London Microsoft's doesn't isn't we're they'll 2024 3.14 1,000 $19.99 e.g. U.S.A. naïve café résumé").Split(' ');

    static readonly string[] Japanese = ("私 は 昨日 新しい 本 を 買い ました とても 面白かった ので 一晩 で 全部 読んで しまい 東京 日本 の 首都 です " +
        "機械 学習 モデル 性能 評価 する 自然 言語 処理 研究 開発 技術 情報 データ 今日 天気 が 良い 公園 散歩 しましょう こんにちは " +
        "ありがとう ございます 大学 先生 学生 会議 あります 価格 円 年 月 日 カタカナ ひらがな 漢字 、 。 「 」 ！ ？").Split(' ');

    static readonly string[] Code = ("def return if else for while int i = 0; ++i) { } ( ) [ ] => := == != <= >= && || self. this. " +
        "var const let function class public static void string List<int> Dictionary<string, int> x y z sum arr count " +
        "print(\"hello\") // # /* */ 42 0x1F 1_000 import from as async await None null true false").Split(' ');

    /// <summary>Lines of 8–128 words: about 60% English-like, 30% Japanese, 10% code-like, until <paramref name="targetBytes"/>.</summary>
    public static string[] GenerateCorpus(long targetBytes, int seed)
    {
        var rng = new Random(seed);
        var lines = new List<string>();
        long total = 0;
        var b = new StringBuilder();
        while (total < targetBytes)
        {
            b.Clear();
            int words = rng.Next(8, 129);
            double kind = rng.NextDouble();
            if (kind < 0.6)
            {
                for (int w = 0; w < words; w++)
                {
                    string word = English[rng.Next(English.Length)];
                    if (w == 0) word = char.ToUpperInvariant(word[0]) + word[1..];
                    b.Append(word);
                    b.Append(rng.Next(12) == 0 ? ", " : " ");
                }
                b.Length--;
                b.Append('.');
            }
            else if (kind < 0.9)
            {
                for (int w = 0; w < words; w++) b.Append(Japanese[rng.Next(Japanese.Length)]);
                b.Append('。');
            }
            else
            {
                b.Append(' ', 4 * rng.Next(3));
                for (int w = 0; w < words; w++)
                {
                    b.Append(Code[rng.Next(Code.Length)]);
                    if (rng.Next(3) > 0) b.Append(' ');
                }
            }
            string line = b.ToString();
            lines.Add(line);
            total += System.Text.Encoding.UTF8.GetByteCount(line) + 1;
        }
        return [.. lines];
    }
}
