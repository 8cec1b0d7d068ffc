using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Bench;

/// <summary>
/// Training throughput of a bert-base-sized masked-LM with random weights: optimizer steps of the real Trainer (forward,
/// backward, clipping, AdamW) at each batch × length, fp32 and bf16 mixed precision, as tokens/s and as the fraction of
/// the machine's matmul ceiling the step reaches (training FLOPs = 3 × forward FLOPs of encoder and MLM decoder, against
/// a large GEMM of the same dtype measured first), and the peak RSS of each row (model, optimizer state, activations).
/// Usage: train [--config FILE] [--threads N] [--shapes 8x128,2x512] [--dtypes fp32,bf16] [--steps N]
/// </summary>
static class TrainBench
{
    public static void Run(Arguments args)
    {
        ConfigJson config = args.Get("--config") is { } file ? ConfigJson.Load(file) : MaskedLm(ForwardBench.BertBase);
        (int Batch, int Length)[] shapes = [.. args.Strings("--shapes", ["8x128", "2x512"]).Select(s => s.Split('x')).Select(p => (int.Parse(p[0]), int.Parse(p[1])))];
        string[] dtypes = args.Strings("--dtypes", ["fp32", "bf16"]);
        int steps = args.Ints("--steps", [3])[0];
        if (args.Get("--threads") is { } t) set_num_threads(int.Parse(t));

        Console.WriteLine($"train: {config.File}, libtorch threads {get_num_threads()}, CPU bf16 {CpuBFloat16.Description}");
        var ceilings = dtypes.ToDictionary(d => d, d => GemmGflops(d == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32));
        foreach (var (dtype, gflops) in ceilings) Console.WriteLine($"matmul ceiling {dtype}: {gflops:F1} GFLOP/s (4096×768 · 768×3072)");
        Console.WriteLine($"{"dtype",-5} {"batch",5} {"length",6} {"s/step",8} {"tokens/s",9} {"GFLOP/s",8} {"of ceiling",10} {"peak RSS",9}");
        foreach (string dtype in dtypes)
        {
            using var model = EncoderModel.CreateRandom(config, seed: 1);
            var options = new TrainerOptions(new LearningRateSchedule(ScheduleKind.Linear, 1e-4, WarmupSteps: 0, TrainingSteps: 1_000_000))
            {
                WeightDecay = 0.01,
                ComputeDtype = dtype == "bf16" ? ComputeDtype.BFloat16 : ComputeDtype.Float32,
            };
            using var trainer = new Trainer<(Tensor Ids, Tensor Labels)>(model, (compute, batch) =>
            {
                using EncoderOutputs outputs = compute.Network.Forward(batch.Ids, null, null, Outputs.MlmLogits);
                return TaskLoss.MaskedLm(outputs.MlmLogits!, batch.Labels);
            }, options);
            foreach (var (batch, length) in shapes)
            {
                Measure.ResetPeakRss();
                using var scope = NewDisposeScope();
                Tensor ids = randint(1000, model.Spec.Embeddings.VocabSize, [batch, length]);
                using Scalar rate = 0.15.ToScalar(), ignored = TaskLoss.IgnoreIndex.ToScalar();
                Tensor labels = ids.masked_fill(rand(batch, length).ge(rate), ignored);
                double perStep = Measure.SecondsPerRun(() => trainer.TrainStep([(ids, labels)]), minRuns: steps, minSeconds: 0);
                double tokens = (double)batch * length;
                double achieved = StepFlops(model.Spec, batch, length) / perStep / 1e9;
                Console.WriteLine($"{dtype,-5} {batch,5} {length,6} {perStep,8:F2} {tokens / perStep,9:F0} {achieved,8:F1} {achieved / ceilings[dtype],10:P0} {Measure.PeakRssMiB(),5:F0} MiB");
            }
        }
    }

    static ConfigJson MaskedLm(string baseConfig)
    {
        JsonObject root = JsonNode.Parse(baseConfig)!.AsObject();
        root["architectures"] = new JsonArray("BertForMaskedLM");
        return ConfigJson.Parse(root.ToJsonString(), "bert-base MLM (built in)");
    }

    /// <summary>Matmul FLOPs of one MLM training step: 3 × (encoder forward + the MLM decoder over every position).</summary>
    internal static double StepFlops(EncoderSpec spec, int batch, int length) =>
        3.0 * batch * (ForwardBench.FlopsPerSequence(spec, length) + 2.0 * length * spec.Hidden * spec.Embeddings.VocabSize);

    // The shape of bert-base's MLP up-projection over a 8×512 batch: big enough to reach the GEMM's steady rate.
    internal static double GemmGflops(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        Tensor a = randn(4096, 768).to_type(dtype), b = randn(768, 3072).to_type(dtype);
        double perRun = Measure.SecondsPerRun(() => { using Tensor c = a.matmul(b); }, minRuns: 5, minSeconds: 2);
        return 2.0 * 4096 * 768 * 3072 / perRun / 1e9;
    }
}
