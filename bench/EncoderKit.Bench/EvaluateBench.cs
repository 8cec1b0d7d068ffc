using System.Diagnostics;
using EncoderKit.Compute;
using EncoderKit.Evaluation;
using EncoderKit.IO;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Tokenization;

namespace EncoderKit.Bench;

/// <summary>
/// Retrieval evaluation throughput on a 100,000-document set, in two halves printed separately: embedding (documents/s
/// through a small random encoder: WordPiece, batching, forward, pooling) and scoring (exact top-1000 search of every
/// query over the whole corpus, then the pytrec_eval-style measures; random unit vectors stand in for embeddings so the
/// half runs at any corpus size). Peak RSS during scoring against the bytes the corpus embeddings take shows that the
/// search holds nothing beyond them (no queries × corpus score matrix).
/// Usage: evaluate [--docs N] [--embed-docs N] [--queries Q] [--dim D] [--threads T] [--seed S]
/// </summary>
static class EvaluateBench
{
    const string SmallBert = """
        {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 2, "intermediate_size": 256, "vocab_size": 5005, "max_position_embeddings": 512,
         "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
        """;

    public static void Run(Arguments args)
    {
        int docs = args.Ints("--docs", [100_000])[0];
        int embedDocs = args.Ints("--embed-docs", [docs])[0];
        int queries = args.Ints("--queries", [1000])[0];
        int dim = args.Ints("--dim", [384])[0];
        int seed = args.Ints("--seed", [0])[0];
        int? threads = args.Get("--threads") is { } t ? int.Parse(t) : null;
        Console.WriteLine($"evaluate: retrieval over {docs} documents, {queries} queries; embedding {embedDocs} documents with a 2-layer hidden-64 random BERT; scoring at {dim} dimensions");
        Embedding(embedDocs, seed, threads);
        Scoring(docs, queries, dim, seed);
    }

    static void Embedding(int count, int seed, int? threads)
    {
        string folder = Path.Combine(Path.GetTempPath(), "encoderkit-evaluate-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(folder);
        try
        {
            Tokenizer tokenizer = EmbedBench.SyntheticTokenizer(folder);
            var random = new Random(seed);
            // Passages of 16–64 words, as BEIR corpora's short passages.
            string[] texts = Enumerable.Range(0, count).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(16, 65)).Select(_ => $"w{random.Next(5000)}"))).ToArray();
            File.WriteAllText(Path.Combine(folder, "config.json"), SmallBert);
            using EncoderModel model = EncoderModel.CreateRandom(ConfigJson.Load(Path.Combine(folder, "config.json")), new ComputeOptions { Threads = threads }, seed);
            using SentenceEncoder encoder = SentenceEncoder.Create(model, tokenizer, options: new SentenceEncoderOptions { BatchSize = 64 });
            encoder.Encode(texts.Take(64).ToArray());   // warm-up
            Measure.ResetPeakRss();
            var clock = Stopwatch.StartNew();
            float[][] vectors = encoder.Encode(texts);
            double seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"  embedding: {count} documents in {seconds:F1} s = {count / seconds:F0} docs/s (64 per batch, {vectors[0].Length} dims); peak RSS {Measure.PeakRssMiB():F0} MiB");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    static void Scoring(int docs, int queryCount, int dim, int seed)
    {
        GC.Collect();
        double before = Measure.RssMiB();
        var random = new Random(seed + 1);
        float[] Unit()
        {
            var v = new float[dim];
            for (int i = 0; i < dim; i++) v[i] = (float)(random.NextDouble() * 2 - 1);
            float norm = System.Numerics.Tensors.TensorPrimitives.Norm(v);
            for (int i = 0; i < dim; i++) v[i] /= norm;
            return v;
        }
        float[][] corpus = Enumerable.Range(0, docs).Select(_ => Unit()).ToArray();
        float[][] queries = Enumerable.Range(0, queryCount).Select(_ => Unit()).ToArray();
        double held = ((long)docs + queryCount) * (dim * sizeof(float) + 24) / 1048576.0;   // + the array header each row carries
        GC.Collect();
        double withEmbeddings = Measure.RssMiB();
        Measure.ResetPeakRss();
        var clock = Stopwatch.StartNew();
        SearchHit[][] hits = StreamingExactSearch.TopK(queries, corpus, 1000);
        double searchSeconds = clock.Elapsed.TotalSeconds;
        var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>();
        var judgements = new Dictionary<string, IReadOnlyDictionary<string, int>>();
        for (int q = 0; q < queryCount; q++)
        {
            run[$"q{q}"] = hits[q].Select(h => new ScoredDocument($"d{h.Index}", h.Score)).ToArray();
            judgements[$"q{q}"] = new Dictionary<string, int> { [$"d{random.Next(docs)}"] = 1, [$"d{hits[q][random.Next(10)].Index}"] = 2 };
        }
        clock.Restart();
        var scores = RetrievalMetrics.Evaluate(judgements, run);
        double metricSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"  search:    {queryCount} queries × {docs} documents, top 1000, in {searchSeconds:F1} s = {queryCount / searchSeconds:F1} queries/s ({(double)queryCount * docs / searchSeconds / 1e6:F0} M scores/s)");
        Console.WriteLine($"  measures:  30 measures of {queryCount} queries in {metricSeconds:F2} s = {queryCount / metricSeconds:F0} queries/s (ndcg_at_10 {scores["ndcg_at_10"]:F3} on random data)");
        Console.WriteLine($"  memory:    embeddings {held:F0} MiB; RSS {before:F0} MiB before them, {withEmbeddings:F0} MiB with them, peak {Measure.PeakRssMiB():F0} MiB while searching and scoring (a {queryCount}×{docs} float score matrix would be {(double)queryCount * docs * 4 / 1048576:F0} MiB more)");
    }
}
