using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Bench;

/// <summary>
/// Forward throughput of the long-context families with random weights: a ModernBERT-base-sized encoder and the
/// 500M Llama-style encoder, at batch × length shapes up to one 8192-token sequence, fp32 and bf16, with the
/// peak resident memory of each row. Only the encoder runs (last_hidden_state; no MLM logits).
/// Usage: families [--models modernbert-base,llama-500m] [--shapes 32x128,8x512,1x512,1x2048,1x8192]
///                 [--dtypes fp32,bf16] [--threads N] [--seconds S]
/// </summary>
/// <remarks>
/// Peak RSS is VmHWM, reset (echo 5 &gt; /proc/self/clear_refs) before each row, so a row's figure is the
/// process's high-water mark while running it: weights, activations and whatever the allocator kept from earlier
/// rows. For the "one 8192-token pass under 4 GiB" figure run that row alone in a fresh process.
/// A row whose first pass takes longer than --seconds is timed on that single pass (at 8192 tokens one-time
/// costs are negligible next to a pass); shorter rows get a warm-up pass and are then timed for --seconds.
/// </remarks>
static class FamilyBench
{
    /// <summary>
    /// tohoku-nlp/tohokunlp-bert-500m-sq8192-alpha as its model card gives it: 24 layers, hidden 1024, FFN 4096,
    /// 16 heads, 8 key/value heads; llm-jp-v3 vocabulary (99584) and rope_theta 20000 as in our fixture's config.
    /// 377M parameters in the blocks plus 102M in the embeddings (the MLM head, not run here, would add 102M).
    /// </summary>
    const string Llama500M = """
        {"model_type": "llama_enc", "architectures": ["LlamaEncModel"], "hidden_size": 1024, "num_hidden_layers": 24,
         "num_attention_heads": 16, "num_key_value_heads": 8, "intermediate_size": 4096, "vocab_size": 99584,
         "max_position_embeddings": 8192, "rope_theta": 20000.0, "rms_norm_eps": 1e-6, "hidden_act": "silu",
         "attention_bias": false, "mlp_bias": false, "tie_word_embeddings": false}
        """;

    static readonly Dictionary<string, string> Models = new()
    {
        ["modernbert-base"] = EmbedBench.ModernBertBase,
        ["llama-500m"] = Llama500M,
    };

    public static void Run(Arguments args)
    {
        string[] models = args.Strings("--models", ["modernbert-base", "llama-500m"]);
        (int Batch, int Length)[] shapes = args.Strings("--shapes", ["32x128", "8x512", "1x512", "1x2048", "1x8192"])
            .Select(s => s.Split('x')).Select(p => (int.Parse(p[0]), int.Parse(p[1]))).ToArray();
        string[] dtypes = args.Strings("--dtypes", ["fp32", "bf16"]);
        double seconds = args.Double("--seconds", 5);
        int? threads = args.Get("--threads") is { } t ? int.Parse(t) : null;

        Console.WriteLine($"families: libtorch threads {threads ?? get_num_threads()}, CPU bf16 {CpuBFloat16.Description}");
        Console.WriteLine($"{"model",-16} {"dtype",-5} {"batch",5} {"length",6} {"tokens/s",9} {"s/batch",8} {"GFLOP/s",8} {"peak RSS MiB",12}");
        foreach (string name in models)
        {
            if (!Models.TryGetValue(name, out string? json))
                throw new ArgumentException($"unknown model '{name}' (known: {string.Join(", ", Models.Keys)})");
            ConfigJson config = ConfigJson.Parse(json, name + " (built in)");
            foreach (string dtype in dtypes)
            {
                var options = new ComputeOptions { Dtype = dtype == "bf16" ? ComputeDtype.BFloat16 : ComputeDtype.Float32, Threads = threads };
                using var model = EncoderModel.CreateRandom(config, options);
                foreach (var (batch, length) in shapes)
                {
                    using var ids = randint(1000, model.Spec.Embeddings.VocabSize, [batch, length], dtype: ScalarType.Int64);
                    ResetPeakRss();
                    double perRun = SecondsPerPass(() =>
                    {
                        using var outputs = model.Forward(ids, null, null, Outputs.LastHiddenState);
                    }, seconds);
                    double tokens = (double)batch * length;
                    Console.WriteLine($"{name,-16} {dtype,-5} {batch,5} {length,6} {tokens / perRun,9:F0} {perRun,8:F2} " +
                                      $"{Flops(model.Spec, length) * batch / perRun / 1e9,8:F1} {Measure.PeakRssMiB(),12:F0}");
                }
            }
        }
    }

    static double SecondsPerPass(Action pass, double seconds)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        pass();
        double first = clock.Elapsed.TotalSeconds;
        return first > seconds ? first : Measure.SecondsPerRun(pass, minRuns: 2, minSeconds: seconds);
    }

    /// <summary>
    /// Matmul FLOPs of one sequence through the encoder layers: projections, MLP, and attention scores and
    /// weighted values over the keys each layer's queries actually see (window + 1 on sliding-window layers).
    /// </summary>
    static double Flops(EncoderSpec spec, long length)
    {
        AttentionSpec a = spec.Attention;
        double h = spec.Hidden, width = a.Heads * a.HeadDim;
        double perToken = h * a.QkvRows + width * h + h * spec.Mlp.Intermediate * (spec.Mlp.Gated ? 3 : 2);
        double total = 0;
        for (int layer = 0; layer < spec.Layers; layer++)
        {
            long keys = a.IsGlobal(layer) || a.LocalWindow is not { } w ? length : Math.Min(length, w + 1);
            total += length * (perToken + 2.0 * keys * width);
        }
        return 2 * total;
    }

    static void ResetPeakRss()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or not allowed: the figure is then the peak since the process started.
        }
    }
}
