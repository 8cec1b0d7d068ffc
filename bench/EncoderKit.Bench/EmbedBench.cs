using System.Diagnostics;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit.Bench;

/// <summary>
/// Sentence-embedding throughput (sentences/s) of a base-sized encoder with random weights on a realistic length mix
/// (10–300 tokens, log-uniform: many short texts, some long), batches sorted by length versus in input order, fp32 and
/// bf16, and packed by a padded-token budget instead of a row count. Texts go through the whole path: WordPiece tokenizer,
/// the batch planner and runner, encoder, mean pooling, normalisation.
/// Usage: embed [--config FILE] [--texts N] [--batch-size B] [--max-batch-tokens T] [--dtypes fp32,bf16] [--threads N] [--seed S]
/// </summary>
/// <remarks>
/// The default model is ModernBERT-base's shape (22 layers, hidden 768, GeGLU 1152, alternating global/local
/// attention) when this build carries the ModernBERT family, else BERT-base (12 layers, hidden 768, GELU 3072), and the
/// first line says which.
/// </remarks>
static class EmbedBench
{
    /// <summary>answerdotai/ModernBERT-base's shape (config.json of the published checkpoint): every bench's ModernBERT-base.</summary>
    internal const string ModernBertBase = """
        {"model_type": "modernbert", "architectures": ["ModernBertModel"], "hidden_size": 768, "num_hidden_layers": 22,
         "num_attention_heads": 12, "intermediate_size": 1152, "vocab_size": 50368, "max_position_embeddings": 8192,
         "hidden_activation": "gelu", "norm_eps": 1e-05, "norm_bias": false, "attention_bias": false, "mlp_bias": false,
         "global_attn_every_n_layers": 3, "local_attention": 128, "global_rope_theta": 160000.0, "local_rope_theta": 10000.0,
         "pad_token_id": 50283, "bos_token_id": 50281, "eos_token_id": 50282, "cls_token_id": 50281, "sep_token_id": 50282}
        """;

    const string BertBase = """
        {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 768, "num_hidden_layers": 12,
         "num_attention_heads": 12, "intermediate_size": 3072, "vocab_size": 28996, "max_position_embeddings": 512,
         "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
        """;

    public static void Run(Arguments args)
    {
        ConfigJson config = PickConfig(args.Get("--config"));
        int count = args.Ints("--texts", [256])[0];
        int batchSize = args.Ints("--batch-size", [32])[0];
        int budget = args.Ints("--max-batch-tokens", [8192])[0];
        string[] dtypes = args.Strings("--dtypes", ["fp32", "bf16"]);
        int seed = args.Ints("--seed", [0])[0];
        int? threads = args.Get("--threads") is { } t ? int.Parse(t) : null;

        string vocabDir = Path.Combine(Path.GetTempPath(), "encoderkit-embed-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(vocabDir);
        try
        {
            Tokenizer tokenizer = SyntheticTokenizer(vocabDir);
            string[] texts = Texts(count, seed);
            int[] lengths = texts.Select(x => tokenizer.Encode(x).Length).ToArray();
            Console.WriteLine($"embed: {config.File}; {count} texts, {lengths.Min()}–{lengths.Max()} tokens (mean {lengths.Average():F0}, median {lengths.Order().ElementAt(count / 2)}), batch {batchSize}, libtorch threads {threads ?? get_num_threads()}, CPU bf16 {CpuBFloat16.Description}");
            (string Name, BatchLimits Limits)[] batchings =
            [
                ("sorted", new BatchLimits(MaxRows: batchSize)),
                ("unsorted", new BatchLimits(MaxRows: batchSize, SortByLength: false)),
                ($"{budget} tok", new BatchLimits(MaxTokens: budget)),
            ];
            foreach (var (name, limits) in batchings)
            {
                var plan = BatchPlanner.Plan(lengths, limits);
                long padded = BatchPlanner.PaddedTokens(lengths, plan), real = lengths.Sum(x => (long)x);
                Console.WriteLine($"  {name,-10}: {plan.Count} batches, {padded} token positions computed for {real} real tokens ({100.0 * (padded - real) / padded:F0}% padding)");
            }
            Console.WriteLine($"{"dtype",-5} {"batching",-10} {"sent/s",8} {"tokens/s",9} {"seconds",8}");
            foreach (string dtype in dtypes)
            {
                var compute = new ComputeOptions { Dtype = dtype == "bf16" ? ComputeDtype.BFloat16 : ComputeDtype.Float32, Threads = threads };
                using EncoderModel model = EncoderModel.CreateRandom(config, compute, seed);
                using SentenceEncoder encoder = SentenceEncoder.Create(model, tokenizer, options: new SentenceEncoderOptions { BatchSize = batchSize });
                encoder.Encode(texts.Take(batchSize).ToArray());   // warm-up: first-call allocations and kernel selection
                foreach (var (name, limits) in batchings)
                {
                    var options = new EmbedOptions { BatchSize = limits.MaxRows ?? count, MaxBatchTokens = limits.MaxTokens, SortByLength = limits.SortByLength, Normalize = true };
                    var clock = Stopwatch.StartNew();
                    encoder.Encode(texts, options: options);
                    double seconds = clock.Elapsed.TotalSeconds;
                    Console.WriteLine($"{dtype,-5} {name,-10} {count / seconds,8:F1} {lengths.Sum() / seconds,9:F0} {seconds,8:F1}");
                }
            }
            Console.WriteLine($"peak RSS: {Measure.PeakRssMiB():F0} MiB");
        }
        finally
        {
            Directory.Delete(vocabDir, recursive: true);
        }
    }

    internal static ConfigJson PickConfig(string? file)
    {
        if (file is not null) return ConfigJson.Load(file);
        ConfigJson modern = ConfigJson.Parse(ModernBertBase, "ModernBERT-base shape (built in)");
        if (ModelFamilies.All.Any(f => f.Recognizes(modern))) return modern;
        return ConfigJson.Parse(BertBase, "BERT-base shape (built in; this build has no ModernBERT family yet)");
    }

    /// <summary>A WordPiece vocabulary of the special tokens and 5,000 whole words "w0" … "w4999": one token per word.</summary>
    internal static Tokenizer SyntheticTokenizer(string dir)
    {
        string vocab = Path.Combine(dir, "vocab.txt");
        File.WriteAllLines(vocab, new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(0, 5000).Select(i => $"w{i}")));
        return Tokenizer.FromVocab(vocab, lowercase: true);
    }

    /// <summary>Texts of 8–298 words (10–300 tokens with [CLS] and [SEP]), lengths log-uniform.</summary>
    internal static string[] Texts(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            int words = (int)Math.Round(Math.Exp(Math.Log(8) + random.NextDouble() * (Math.Log(298) - Math.Log(8))));
            return string.Join(' ', Enumerable.Range(0, words).Select(_ => $"w{random.Next(5000)}"));
        }).ToArray();
    }
}
