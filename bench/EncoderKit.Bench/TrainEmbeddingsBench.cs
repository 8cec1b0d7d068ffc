using System.Diagnostics;
using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.Contrastive;
using EncoderKit.IO;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Training;
using static TorchSharp.torch;

namespace EncoderKit.Bench;

/// <summary>
/// Contrastive training throughput of a ModernBERT-base-sized embedding model with random weights: optimizer steps of
/// MNRL over (anchor, positive) pairs of random tokens at batch × length, the whole batch at once and through GradCache
/// in mini-batches, as pairs/s and the peak RSS of each. Each mode runs in a process of its own, so its peak RSS is its
/// own (model, AdamW state, activations of a batch or of a mini-batch).
/// Usage: train-embeddings [--config FILE] [--tiny] [--batch 64] [--length 128] [--mini-batch 8] [--steps 3] [--threads N]
/// </summary>
static class TrainEmbeddingsBench
{
    const string Tiny = """
        {"model_type": "modernbert", "architectures": ["ModernBertModel"], "hidden_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 2, "intermediate_size": 96, "vocab_size": 1000, "max_position_embeddings": 512,
         "hidden_activation": "gelu", "norm_eps": 1e-05, "norm_bias": false, "attention_bias": false, "mlp_bias": false,
         "global_attn_every_n_layers": 3, "local_attention": 128, "global_rope_theta": 160000.0, "local_rope_theta": 10000.0,
         "pad_token_id": 0}
        """;

    public static void Run(Arguments args)
    {
        if (args.Get("--mode") is { } mode)
        {
            Measure(args, mode);
            return;
        }
        int batch = args.Ints("--batch", [64])[0], length = args.Ints("--length", [128])[0], miniBatch = args.Ints("--mini-batch", [8])[0];
        Console.WriteLine($"train-embeddings: MNRL, batch {batch} pairs × {length} tokens, GradCache mini-batch {miniBatch}, each mode in its own process");
        Console.WriteLine($"{"mode",-22} {"s/step",8} {"pairs/s",8} {"peak RSS",10}");
        foreach (string each in new[] { "plain", "cached" })
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
            foreach (string arg in Environment.GetCommandLineArgs().Skip(1).Concat(["--mode", each])) start.ArgumentList.Add(arg);
            using Process child = Process.Start(start)!;
            Console.Write(child.StandardOutput.ReadToEnd());
            child.WaitForExit();
            // 137 is SIGKILL, which on a machine without swap is the kernel's out-of-memory killer: the batch does not fit.
            if (child.ExitCode != 0) Console.WriteLine($"{each,-22} exit {child.ExitCode}{(child.ExitCode == 137 ? " (killed: out of memory, the whole batch does not fit)" : "")}");
        }
    }

    static void Measure(Arguments args, string mode)
    {
        ConfigJson config = args.Get("--config") is { } file ? ConfigJson.Load(file)
            : args.Raw.Contains("--tiny") ? ConfigJson.Parse(Tiny, "tiny ModernBERT (built in)") : ConfigJson.Parse(EmbedBench.ModernBertBase, "ModernBERT-base shape (built in)");
        int batch = args.Ints("--batch", [64])[0], length = args.Ints("--length", [128])[0], miniBatch = args.Ints("--mini-batch", [8])[0];
        int steps = args.Ints("--steps", [3])[0];
        if (args.Get("--threads") is { } t) set_num_threads(int.Parse(t));
        bool cached = mode == "cached";

        using var model = EncoderModel.CreateRandom(config, seed: 1);
        using var embedder = new SentenceModel(model, PoolingConfig.Mean(model.Spec.Hidden), [], ownsTransformer: false);
        int vocab = model.Spec.Embeddings.VocabSize;
        var random = new Random(1);
        TokenizedText Text() => new([.. Enumerable.Range(0, length).Select(_ => random.Next(5, vocab))]);
        // Anchors and positives: the two columns, each split into mini-batches under GradCache.
        IReadOnlyList<TokenizedText>[] columns = [[.. Enumerable.Range(0, batch).Select(_ => Text())], [.. Enumerable.Range(0, batch).Select(_ => Text())]];
        Batch Part(IReadOnlyList<TokenizedText> rows) => new(rows, [.. Enumerable.Range(0, rows.Count)], padId: 0);
        Func<IReadOnlyList<Tensor>, Tensor> loss = embeddings => ContrastiveLoss.MultipleNegativesRanking(embeddings);
        var options = new TrainerOptions(new LearningRateSchedule(ScheduleKind.Linear, 1e-5, WarmupSteps: 0, TrainingSteps: 1_000_000)) { WeightDecay = 0.01 };
        using var trainer = new Trainer<int>(model, (compute, _, microBatches) => cached
            ? GradCache.Backward([.. columns.Select(c => (IReadOnlyList<Batch>)[.. c.Chunk(miniBatch).Select(Part)])], b => embedder.ForwardWithGradients(b), loss, microBatches)
            : Plain(columns.Select(c => embedder.ForwardWithGradients(Part(c))).ToArray(), loss), options);
        double perStep = EncoderKit.Bench.Measure.SecondsPerRun(() => trainer.TrainStep([0]), minRuns: steps, minSeconds: 0);
        string name = cached ? $"GradCache (mini {miniBatch})" : "whole batch";
        Console.WriteLine($"{name,-22} {perStep,8:F2} {batch / perStep,8:F1} {EncoderKit.Bench.Measure.PeakRssMiB(),6:F0} MiB");
    }

    static double Plain(Tensor[] embeddings, Func<IReadOnlyList<Tensor>, Tensor> loss)
    {
        using Tensor value = loss(embeddings);
        value.backward();
        return value.item<float>();
    }
}
