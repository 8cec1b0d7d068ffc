using System.Diagnostics;
using System.Net.Http.Json;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Server;
using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit.Bench;

/// <summary>
/// The server under load on loopback: N clients each post one text per /embed request, as fast as answers come, until
/// the texts run out; prints sentences/s and request latency percentiles per client count, next to the same texts
/// embedded in-process without HTTP (what batching must earn back). Same model and length mix as the embed bench.
/// Usage: serve [--config FILE] [--texts N] [--clients 1,8,64] [--max-batch-tokens T] [--threads N] [--seed S]
/// </summary>
static class ServeBench
{
    public static void Run(Arguments args) => RunAsync(args).GetAwaiter().GetResult();

    static async Task RunAsync(Arguments args)
    {
        ConfigJson config = EmbedBench.PickConfig(args.Get("--config"));
        int count = args.Ints("--texts", [256])[0];
        int[] clientCounts = args.Ints("--clients", [1, 8, 64]);
        int budget = args.Ints("--max-batch-tokens", [8192])[0];
        int seed = args.Ints("--seed", [0])[0];
        int? threads = args.Get("--threads") is { } t ? int.Parse(t) : null;

        string vocabDir = Path.Combine(Path.GetTempPath(), "encoderkit-serve-bench-" + Environment.ProcessId);
        Directory.CreateDirectory(vocabDir);
        try
        {
            Tokenizer tokenizer = EmbedBench.SyntheticTokenizer(vocabDir);
            string[] texts = EmbedBench.Texts(count, seed);
            using EncoderModel model = EncoderModel.CreateRandom(config, new ComputeOptions { Threads = threads }, seed);
            using SentenceEncoder encoder = SentenceEncoder.Create(model, tokenizer, options: new SentenceEncoderOptions { MaxBatchTokens = budget, BatchSize = count });
            Console.WriteLine($"serve: {config.File}; {count} texts of 10–300 tokens, one per request; --max-batch-tokens {budget}; libtorch threads {threads ?? get_num_threads()}");
            var inProcess = new EmbedOptions { Normalize = true };
            encoder.Encode(texts.Take(16).ToArray(), options: inProcess);   // warm-up
            var clock = Stopwatch.StartNew();
            encoder.Encode(texts, options: inProcess);
            double baseline = count / clock.Elapsed.TotalSeconds;
            Console.WriteLine($"in-process, all texts in one call: {baseline:F1} sent/s");
            Console.WriteLine($"{"clients",7} {"sent/s",8} {"vs in-process",13} {"p50 ms",8} {"p90 ms",8} {"p95 ms",8} {"p99 ms",8} {"batches",8}");

            var options = new ServerOptions { Port = 0, MaxBatchTokens = budget, MaxConcurrentRequests = 4096 };
            await using EncoderServer server = await EncoderServer.StartAsync(encoder, options);
            using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) };
            (await http.PostAsJsonAsync("/embed", new { inputs = texts[0] })).EnsureSuccessStatusCode();   // warm-up
            foreach (int clients in clientCounts)
            {
                long batchesBefore = server.Inference.Batcher.Batches;
                var latencies = new double[count];
                int next = -1;
                clock.Restart();
                await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
                {
                    for (int i; (i = Interlocked.Increment(ref next)) < count;)
                    {
                        long start = Stopwatch.GetTimestamp();
                        using HttpResponseMessage response = await http.PostAsJsonAsync("/embed", new { inputs = texts[i] });
                        response.EnsureSuccessStatusCode();
                        await response.Content.ReadAsByteArrayAsync();
                        latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    }
                })));
                double rate = count / clock.Elapsed.TotalSeconds;
                Array.Sort(latencies);
                double P(double q) => latencies[Math.Min(count - 1, (int)(q * count))];
                Console.WriteLine($"{clients,7} {rate,8:F1} {100 * rate / baseline,12:F0}% {P(0.5),8:F1} {P(0.9),8:F1} {P(0.95),8:F1} {P(0.99),8:F1} {server.Inference.Batcher.Batches - batchesBefore,8}");
            }
        }
        finally
        {
            Directory.Delete(vocabDir, recursive: true);
        }
    }
}
