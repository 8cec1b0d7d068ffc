using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Bench;

/// <summary>
/// Forward throughput of a bert-base-sized encoder with random weights: sequences/s, tokens/s and achieved
/// GFLOP/s (matmul FLOPs of the encoder layers; heads excluded) with its share of the engine's own GEMM ceiling measured
/// in the same run, fp32 and bf16, then peak RSS.
/// Usage: forward [--config FILE] [--threads N] [--batches 1,8,32] [--lengths 128,512] [--dtypes fp32,bf16] [--seconds S]
/// </summary>
static class ForwardBench
{
    internal const string BertBase = """
        {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 768, "num_hidden_layers": 12,
         "num_attention_heads": 12, "intermediate_size": 3072, "vocab_size": 28996, "max_position_embeddings": 512,
         "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
        """;

    public static void Run(Arguments args)
    {
        ConfigJson config = args.Get("--config") is { } file ? ConfigJson.Load(file) : ConfigJson.Parse(BertBase, "bert-base (built in)");
        int[] batches = args.Ints("--batches", [1, 8, 32]);
        int[] lengths = args.Ints("--lengths", [128, 512]);
        string[] dtypes = args.Strings("--dtypes", ["fp32", "bf16"]);
        double seconds = args.Double("--seconds", 3);
        int? threads = args.Get("--threads") is { } t ? int.Parse(t) : null;

        Console.WriteLine($"forward: {config.File}, libtorch threads {(threads ?? get_num_threads())}, CPU bf16 {CpuBFloat16.Description}");
        Console.WriteLine($"{"dtype",-5} {"batch",5} {"length",6} {"seq/s",9} {"tokens/s",10} {"GFLOP/s",8} {"of GEMM",8} {"ms/batch",9}");
        foreach (string dtype in dtypes)
        {
            var options = new ComputeOptions { Dtype = dtype == "bf16" ? ComputeDtype.BFloat16 : ComputeDtype.Float32, Threads = threads };
            using var model = EncoderModel.CreateRandom(config, options);
            double ceiling = TrainBench.GemmGflops(dtype == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32);
            Console.WriteLine($"{dtype} GEMM ceiling (4096×768 · 768×3072): {ceiling:F1} GFLOP/s; MKL kernels {MklCpuDispatch.KernelBranch()}");
            foreach (int length in lengths)
            foreach (int batch in batches)
            {
                using var ids = randint(1000, model.Spec.Embeddings.VocabSize, [batch, length], dtype: ScalarType.Int64);
                double perRun = Measure.SecondsPerRun(() =>
                {
                    using var outputs = model.Forward(ids, null, null, Outputs.LastHiddenState);
                }, minSeconds: seconds);
                double tokens = (double)batch * length;
                double gflops = FlopsPerSequence(model.Spec, length) * batch / perRun / 1e9;
                Console.WriteLine($"{dtype,-5} {batch,5} {length,6} {batch / perRun,9:F2} {tokens / perRun,10:F0} {gflops,8:F1} {gflops / ceiling,8:F2} {perRun * 1000,9:F1}");
            }
        }
        Console.WriteLine($"peak RSS: {Measure.PeakRssMiB():F0} MiB");
    }

    /// <summary>2 × multiply-adds of the projections, MLP and attention products of every layer, for one sequence.</summary>
    public static double FlopsPerSequence(EncoderSpec spec, long length)
    {
        double h = spec.Hidden, attentionWidth = spec.Attention.Heads * spec.Attention.HeadDim;
        double projections = h * spec.Attention.QkvRows + attentionWidth * h;
        double mlp = h * spec.Mlp.Intermediate * (spec.Mlp.Gated ? 3 : 2);
        double attention = 2.0 * length * attentionWidth;   // scores and weighted values, per token
        return 2.0 * spec.Layers * length * (projections + mlp + attention);
    }
}
