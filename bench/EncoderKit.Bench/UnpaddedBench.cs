using System.Diagnostics;
using System.Runtime.InteropServices;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Runtime;
using static TorchSharp.torch;

namespace EncoderKit.Bench;

/// <summary>
/// Embedding forward passes (encoder + mean pooling, fp32) of a ModernBERT-base-sized model with random weights, padded
/// and unpadded, on a realistic length mix (8–300 tokens, log-uniform, batched as `embed` batches them) and on one
/// 8,000-token document: tokens/s, useful GFLOP/s and their share of the GEMM ceiling measured in the same run, through
/// libtorch (the engine's own) and, when it can be installed, Debian's OpenBLAS. Then the cost of unpadding a batch
/// that has no padding (what <see cref="EncoderNetwork.PackFromPaddingShare"/> rests on), and attention per sequence
/// against one block-diagonal call.
/// Usage: unpadded [--config FILE] [--texts N] [--batch-size B] [--document TOKENS] [--threads N] [--seed S] [--openblas yes|no] [--dtype fp32|bf16]
/// (bf16: the ceiling is libtorch's bf16 GEMM; OpenBLAS has none)
/// </summary>
/// <remarks>
/// Useful FLOPs count real tokens only: per layer and token 2 × (H × qkv rows + heads × d × H + H × I × (3 gated, 2
/// not)) for the projections and MLP, plus 2 × 2 × heads × d per key the token attends to (scores and weighted values):
/// every key of its own sequence on global layers, those within the window on local ones. Embeddings, norms, softmax
/// and pooling are left out: they are a few percent, and no GEMM ceiling covers them.
/// </remarks>
static class UnpaddedBench
{
    public static void Run(Arguments args)
    {
        ConfigJson config = EmbedBench.PickConfig(args.Get("--config"));
        int count = args.Ints("--texts", [96])[0];
        int batchSize = args.Ints("--batch-size", [32])[0];
        int document = args.Ints("--document", [8000])[0];
        int seed = args.Ints("--seed", [0])[0];
        int? threads = args.Get("--threads") is { } t ? int.Parse(t) : null;
        bool bf16 = args.Get("--dtype") == "bf16";
        ScalarType dtype = bf16 ? ScalarType.BFloat16 : ScalarType.Float32;

        using EncoderModel model = EncoderModel.CreateRandom(config, new ComputeOptions { Threads = threads, Dtype = bf16 ? ComputeDtype.BFloat16 : ComputeDtype.Float32 }, seed);
        EncoderSpec spec = model.Spec;
        var random = new Random(seed);
        int[] lengths = Enumerable.Range(0, count).Select(_ => (int)Math.Round(Math.Exp(Math.Log(8) + random.NextDouble() * (Math.Log(300) - Math.Log(8))))).ToArray();
        var inputs = lengths.Select(n => new TokenizedText(Enumerable.Range(0, n).Select(_ => random.Next(1000, 50000)).ToArray())).ToList();
        Batch[] batches = BatchPlanner.Plan(inputs, new BatchLimits(MaxRows: batchSize), padId: 0).ToArray();
        long real = lengths.Sum(x => (long)x), padded = batches.Sum(b => b.PaddedTokens);
        Console.WriteLine($"unpadded: {config.File}; CPU {Cli.Commands.EnvCommand.CpuName()}, libtorch threads {threads ?? get_num_threads()}, {(bf16 ? "bf16" : "fp32")}");
        Console.WriteLine($"  mix: {count} texts of {lengths.Min()}–{lengths.Max()} tokens (mean {lengths.Average():F0}), {batches.Length} batches of ≤ {batchSize} rows, {100.0 * (padded - real) / padded:F0}% of positions padding");

        double torchGemm = GemmGflops(spec, (m, k, n) => Libtorch(m, k, n, dtype));
        double? blasGemm = bf16 || args.Get("--openblas") == "no" ? null : OpenBlas.Load() is { } sgemm ? GemmGflops(spec, sgemm) : null;
        Console.WriteLine($"  GEMM ceiling (the model's projection shapes, 4,096 rows): libtorch {torchGemm:F1} GFLOP/s, OpenBLAS {(blasGemm is { } b ? $"{b:F1} GFLOP/s" : bf16 ? "(no bf16)" : "unavailable")}");
        Console.WriteLine($"  MKL kernels in libtorch: {MklCpuDispatch.KernelBranch()} (vendor check: {MklCpuDispatch.VendorCheck})");
        Console.WriteLine($"{"workload",-10} {"execution",-9} {"tokens/s",9} {"useful GFLOP/s",15} {"of libtorch",12} {"of OpenBLAS",12} {"seconds",8}");
        double mixFlops = lengths.Sum(n => UsefulFlops(spec, n));
        foreach (BatchExecution execution in new[] { BatchExecution.Padded, BatchExecution.Unpadded })
        {
            Embed(model, batches.Take(1), execution);   // warm-up
            double seconds = Time(() => Embed(model, batches, execution));
            Row("mix", execution, real, mixFlops, seconds, torchGemm, blasGemm);
        }
        var longInput = new TokenizedText(Enumerable.Range(0, document).Select(_ => random.Next(1000, 50000)).ToArray());
        Batch single = new([longInput], [0], padId: 0);
        double documentSeconds = Time(() => Embed(model, [single], BatchExecution.Auto));
        Row($"{document} tok", BatchExecution.Auto, document, UsefulFlops(spec, document), documentSeconds, torchGemm, blasGemm);

        PackingCost(model, batchSize: 8, length: 64);
        PerSequenceAttention(spec, batches[batches.Length / 2]);
    }

    static void Row(string workload, BatchExecution execution, long tokens, double flops, double seconds, double torchGemm, double? blasGemm)
    {
        double useful = flops / seconds / 1e9;
        string ofBlas = blasGemm is { } b ? $"{useful / b,12:F2}" : $"{"-",12}";
        Console.WriteLine($"{workload,-10} {(execution == BatchExecution.Auto ? "-" : execution.ToString().ToLowerInvariant()),-9} {tokens / seconds,9:F0} {useful,15:F1} {useful / torchGemm,12:F2} {ofBlas} {seconds,8:F1}");
    }

    static void Embed(EncoderModel model, IEnumerable<Batch> batches, BatchExecution execution)
    {
        foreach (Batch batch in batches)
        {
            using var inference = inference_mode();
            using var scope = NewDisposeScope();
            Tensor? mask = batch.IsPadded ? batch.AttentionMaskTensor() : null;
            using EncoderOutputs outputs = model.Network.Forward(batch.InputIdsTensor(), mask, null, Outputs.LastHiddenState, execution: execution);
            EncoderNetwork.MeanPool(outputs.LastHiddenState, mask).to_type(ScalarType.Float32).data<float>();   // the embeddings reach managed memory, as embed's do
        }
    }

    static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>FLOPs of one sequence of <paramref name="n"/> real tokens through every layer (see the remarks above).</summary>
    public static double UsefulFlops(EncoderSpec spec, long n)
    {
        double h = spec.Hidden, width = spec.Attention.Heads * spec.Attention.HeadDim;
        double perToken = h * spec.Attention.QkvRows + width * h + h * spec.Mlp.Intermediate * (spec.Mlp.Gated ? 3 : 2);
        double flops = 0;
        for (int layer = 0; layer < spec.Layers; layer++)
        {
            long half = spec.Attention.IsGlobal(layer) ? n : spec.Attention.LocalWindow!.Value / 2;
            double keys = 0;   // Σ over queries of the keys each sees: |i - j| <= half within [0, n)
            for (long i = 0; i < n; i++) keys += Math.Min(n - 1, i + half) - Math.Max(0, i - half) + 1;
            flops += 2 * n * perToken + 4 * keys * width;
        }
        return flops;
    }

    /// <summary>(K, N) of the model's matrix products: fused QKV, attention output, MLP input, MLP output.</summary>
    static (long K, long N)[] Shapes(EncoderSpec spec) =>
    [
        (spec.Hidden, spec.Attention.QkvRows),
        (spec.Attention.Heads * spec.Attention.HeadDim, spec.Hidden),
        (spec.Hidden, spec.Mlp.Intermediate * (spec.Mlp.Gated ? 2 : 1)),
        (spec.Mlp.Intermediate, spec.Hidden),
    ];

    /// <summary>One y = x Wᵀ product of [m, k] by [n, k], as a repeatable action.</summary>
    delegate Action Sgemm(long m, long k, long n);

    // nn.functional.linear, as every Dense layer computes it.
    static Action Libtorch(long m, long k, long n, ScalarType dtype)
    {
        Tensor x = randn(m, k).to_type(dtype), w = randn(n, k).to_type(dtype);
        return () => nn.functional.linear(x, w).Dispose();
    }

    static double GemmGflops(EncoderSpec spec, Sgemm sgemm)
    {
        const long rows = 4096;
        Action[] products = Shapes(spec).Select(s => sgemm(rows, s.K, s.N)).ToArray();
        double flops = Shapes(spec).Sum(s => 2.0 * rows * s.K * s.N);
        return flops / Measure.SecondsPerRun(() => Array.ForEach(products, p => p()), minRuns: 3, minSeconds: 2) / 1e9;
    }

    static float[] Random(long size)
    {
        var random = new Random(1);
        var values = new float[size];
        for (long i = 0; i < size; i++) values[i] = (float)random.NextDouble() - 0.5f;
        return values;
    }

    // Forcing unpadded execution on a batch without padding costs its overhead (gathers, per-sequence attention, scatter)
    // and saves nothing: a batch should be unpadded once its padding share exceeds that overhead.
    static void PackingCost(EncoderModel model, int batchSize, int length)
    {
        using var ids = randint(1000, 50000, [batchSize, length], dtype: ScalarType.Int64);
        using var mask = ones([batchSize, length], ScalarType.Int64);
        void Forward(BatchExecution execution)
        {
            using var inference = inference_mode();
            using EncoderOutputs outputs = model.Network.Forward(ids, mask, null, Outputs.LastHiddenState, execution: execution);
        }
        // Alternating runs, the fastest of each: on a shared machine the slower runs measure the neighbours.
        Forward(BatchExecution.Unpadded);
        double padded = double.MaxValue, unpadded = double.MaxValue;
        for (int run = 0; run < 5; run++)
        {
            padded = Math.Min(padded, Time(() => Forward(BatchExecution.Padded)));
            unpadded = Math.Min(unpadded, Time(() => Forward(BatchExecution.Unpadded)));
        }
        Console.WriteLine($"no padding, {batchSize}×{length}: padded {padded * 1000:F0} ms, unpadded {unpadded * 1000:F0} ms ({100 * (unpadded / padded - 1):+0.0;-0.0}%: the padding share where unpadding starts to pay)");
    }

    // One batch's attention of one global layer: each sequence on its own against one call over the stream with a
    // block-diagonal mask (which computes every T² score).
    static void PerSequenceAttention(EncoderSpec spec, Batch batch)
    {
        using var scope = NewDisposeScope();
        long total = batch.Lengths.Sum(), heads = spec.Attention.Heads, d = spec.Attention.HeadDim;
        Tensor q = randn(1, heads, total, d), k = randn(1, heads, total, d), v = randn(1, heads, total, d);
        long[] starts = new long[batch.Count];
        for (int s = 1; s < starts.Length; s++) starts[s] = starts[s - 1] + batch.Lengths[s - 1];
        Tensor sequence = tensor(batch.Lengths.SelectMany((n, s) => Enumerable.Repeat((long)s, n)).ToArray());
        Tensor blockDiagonal = sequence.unsqueeze(1).eq(sequence.unsqueeze(0)).view(1, 1, total, total);
        double perSequence = Measure.SecondsPerRun(() =>
        {
            using var inner = NewDisposeScope();
            cat(starts.Select((start, s) => nn.functional.scaled_dot_product_attention(
                q.narrow(2, start, batch.Lengths[s]), k.narrow(2, start, batch.Lengths[s]), v.narrow(2, start, batch.Lengths[s]))).ToArray(), 2);
        }, minRuns: 5, minSeconds: 1);
        double masked = Measure.SecondsPerRun(() =>
        {
            using var inner = NewDisposeScope();
            nn.functional.scaled_dot_product_attention(q, k, v, blockDiagonal);
        }, minRuns: 5, minSeconds: 1);
        Console.WriteLine($"attention of {batch.Count} sequences ({batch.Lengths.Min()}–{batch.Lengths.Max()} tokens): per sequence {perSequence * 1000:F1} ms, block-diagonal {masked * 1000:F1} ms");
    }

    /// <summary>cblas_sgemm of Debian's OpenBLAS (pthread build), installed by install-openblas.sh when missing.</summary>
    static class OpenBlas
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        delegate void CblasSgemm(int order, int transA, int transB, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        delegate void SetThreads(int threads);

        const int RowMajor = 101, NoTrans = 111, Trans = 112;

        public static Sgemm? Load()
        {
            string script = Path.Combine(AppContext.BaseDirectory, "install-openblas.sh");
            string library;
            try
            {
                using var process = Process.Start(new ProcessStartInfo("bash", [script]) { RedirectStandardOutput = true })!;
                library = process.StandardOutput.ReadToEnd().Trim();
                process.WaitForExit();
                if (process.ExitCode != 0) return null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null;
            }
            if (!NativeLibrary.TryLoad(library, out IntPtr handle)) return null;
            Marshal.GetDelegateForFunctionPointer<SetThreads>(NativeLibrary.GetExport(handle, "openblas_set_num_threads"))(get_num_threads());
            var sgemm = Marshal.GetDelegateForFunctionPointer<CblasSgemm>(NativeLibrary.GetExport(handle, "cblas_sgemm"));
            // y = x Wᵀ: A = x [m, k], B = W [n, k] transposed, both row-major.
            return (m, k, n) =>
            {
                float[] a = Random(m * k), b = Random(n * k), c = new float[m * n];
                return () => sgemm(RowMajor, NoTrans, Trans, (int)m, (int)n, (int)k, 1f, a, (int)k, b, (int)k, 0f, c, (int)n);
            };
        }
    }
}
