using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Training;

/// <summary>
/// The loop on a tiny random BERT (the bert fixture's shape, dropout 0.1, a 1 000-token vocabulary) with an MLM
/// objective on fixed random ids (40 distinct tokens): 15 % of positions masked by draws from libtorch's generator each step, rows chosen by
/// the data-order generator, 2 micro-batches per step. Exact comparisons: the same process, the same ops on the same
/// CPU, so a resumed run must give the uninterrupted run's bits, and anything not restored (a moment, a step count, a
/// generator) changes them.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class TrainerTests(Xunit.Abstractions.ITestOutputHelper output)
{
    const int Rows = 32, Length = 16, RowsPerMicroBatch = 4, MaskId = 3;

    static EncoderModel TinyBert()
    {
        string file = Path.Combine(ReferenceData.Model("bert"), "config.json");
        JsonObject root = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        root["vocab_size"] = 1000;
        return EncoderModel.CreateRandom(ConfigJson.Parse(root.ToJsonString(), file), seed: 5);
    }

    // Ids from 40 of the 1 000 tokens: the model can learn in 20 steps that only these occur (ln 1000 ≈ 6.9 → ln 40 ≈ 3.7).
    static Tensor Data()
    {
        using var generator = new Generator(17);
        return randint(10, 50, [Rows, Length], generator: generator);
    }

    static TrainerOptions Options(string log, ComputeDtype dtype) => new(new LearningRateSchedule(ScheduleKind.Linear, 3e-3, WarmupSteps: 2, TrainingSteps: 20))
    {
        WeightDecay = 0.01, GradientAccumulation = 2, MaxGradNorm = 1.0, Seed = 1234, LogFile = log, ComputeDtype = dtype,
    };

    static Trainer<Tensor> NewTrainer(EncoderModel model, string log, ComputeDtype dtype, Action<EncoderModel>? sawComputeModel = null) =>
        new(model, (compute, rows) =>
        {
            sawComputeModel?.Invoke(compute);
            return MaskedLmLoss(compute, rows);
        }, Options(log, dtype));

    static Tensor MaskedLmLoss(EncoderModel model, Tensor rows)
    {
        using Scalar rate = 0.15.ToScalar(), ignored = (-100).ToScalar(), maskId = MaskId.ToScalar();
        Tensor masked = rand(rows.shape).lt(rate);
        Tensor labels = rows.masked_fill(masked.logical_not(), ignored);
        using EncoderOutputs outputs = model.Network.Forward(rows.masked_fill(masked, maskId), null, null, Outputs.MlmLogits);
        return TaskLoss.MaskedLm(outputs.MlmLogits!, labels);
    }

    static List<StepRecord> Run(Trainer<Tensor> trainer, Tensor data, long until)
    {
        var records = new List<StepRecord>();
        while (trainer.Step < until)
        {
            int[] order = trainer.Random.DataOrder.Permutation(Rows);
            Tensor[] microBatches = [.. Enumerable.Range(0, 2).Select(m => data.index_select(0, tensor(order[(m * RowsPerMicroBatch)..((m + 1) * RowsPerMicroBatch)])))];
            records.Add(trainer.TrainStep(microBatches));
        }
        return records;
    }

    static Dictionary<string, Tensor> Weights(EncoderModel model) =>
        model.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Theory]
    [InlineData(ComputeDtype.Float32)]
    [InlineData(ComputeDtype.BFloat16)]
    public void TwentyStepsLowerTheLossAndAResumedRunEndsOnTheSameBits(ComputeDtype dtype)
    {
        using var folder = new TempFolder();
        using var scope = NewDisposeScope();
        Tensor data = Data();

        List<StepRecord> uninterrupted;
        Dictionary<string, Tensor> expected;
        using (EncoderModel model = TinyBert())
        using (Trainer<Tensor> trainer = NewTrainer(model, folder.File("straight.jsonl"), dtype))
        {
            uninterrupted = Run(trainer, data, 20);
            expected = Weights(model);
        }
        Assert.Equal(Enumerable.Range(1, 20).Select(s => (long)s), uninterrupted.Select(r => r.Step));
        double first = uninterrupted.Take(3).Average(r => r.Loss), last = uninterrupted.TakeLast(3).Average(r => r.Loss);
        output.WriteLine($"mean loss of steps 1-3: {first:F4}, of steps 18-20: {last:F4}");
        Assert.True(last < first - 1.0, $"loss went from {first:F3} to {last:F3}");
        Assert.Equal(0.0, uninterrupted[0].LearningRate);
        Assert.All(uninterrupted, r => Assert.True(double.IsFinite(r.GradNorm) && r.GradNorm > 0, $"step {r.Step}: grad norm {r.GradNorm}"));

        // Stop after step 10, checkpoint, and continue in a fresh model and trainer from the files alone.
        var checkpoints = new CheckpointFolders(Path.Combine(folder.Path, "run"), keepLast: 1);
        List<StepRecord> beforeStop;
        using (EncoderModel model = TinyBert())
        using (Trainer<Tensor> trainer = NewTrainer(model, folder.File("resumed.jsonl"), dtype))
        {
            beforeStop = Run(trainer, data, 10);
            checkpoints.Write(trainer.Step, trainer.Save);
            Run(trainer, data, 12);   // work after the checkpoint that the resumed run must not see
        }
        string checkpoint = checkpoints.Latest()!;
        Assert.EndsWith("checkpoint-10", checkpoint, StringComparison.Ordinal);
        List<StepRecord> afterResume;
        Dictionary<string, Tensor> actual;
        using (EncoderModel model = EncoderModel.Load(checkpoint))
        using (Trainer<Tensor> trainer = NewTrainer(model, folder.File("resumed.jsonl"), dtype))
        {
            trainer.Resume(checkpoint);
            Assert.Equal(10, trainer.Step);
            afterResume = Run(trainer, data, 20);
            actual = Weights(model);
        }
        Assert.Equal(uninterrupted, beforeStop.Concat(afterResume));   // loss, rate and norm of every step, exactly
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, weight) in expected)
            Assert.True(weight.eq(actual[name]).all().item<bool>(), $"{name} differs after resuming");

        // The log holds one line per step taken, with the fields of the record.
        string[] lines = File.ReadAllLines(folder.File("straight.jsonl"));
        Assert.Equal(20, lines.Length);
        JsonObject line = JsonNode.Parse(lines[4])!.AsObject();
        Assert.Equal(5, line["step"]!.GetValue<long>());
        Assert.Equal(uninterrupted[4].Loss, line["loss"]!.GetValue<double>());
        Assert.Equal(uninterrupted[4].LearningRate, line["learning_rate"]!.GetValue<double>());
        Assert.Equal(uninterrupted[4].GradNorm, line["grad_norm"]!.GetValue<double>());
    }

    [Fact]
    public void MixedPrecisionComputesInABf16CopyOfTheFloat32Masters()
    {
        using var folder = new TempFolder();
        using var scope = NewDisposeScope();
        Tensor data = Data();
        using EncoderModel model = TinyBert();
        EncoderModel? compute = null;
        using (Trainer<Tensor> trainer = NewTrainer(model, folder.File("log.jsonl"), ComputeDtype.BFloat16, m => compute = m))
        {
            Run(trainer, data, 3);
            Assert.NotNull(compute);
            Assert.NotSame(model, compute);
            var masters = model.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, parameter) in compute.Network.named_parameters())
            {
                Assert.Equal(ScalarType.Float32, masters[name].dtype);
                Assert.Equal(ScalarType.BFloat16, parameter.dtype);
                // After each step the copy holds exactly the masters rounded to bf16, and carries no gradient of its own.
                Assert.True(parameter.eq(masters[name].to_type(ScalarType.BFloat16)).all().item<bool>(), $"{name}: the bf16 copy is not the rounded masters");
                Assert.Null(parameter.grad);
            }
            // The masters moved by float32 updates smaller than bf16 can hold: some master differs from its rounding.
            Assert.Contains(masters.Values, m => !m.eq(m.to_type(ScalarType.BFloat16).to_type(ScalarType.Float32)).all().item<bool>());
            // The decoder stays tied to the embeddings in the copy (one parameter, not two), as in the model it was made from.
            Assert.Equal(masters.Count, compute.Network.named_parameters().Count());
        }
    }

    [Fact]
    public void MixedPrecisionRefusesBf16Masters()
    {
        using var folder = new TempFolder();
        using EncoderModel model = TinyBert();
        using EncoderModel bf16 = model.CopyAs(ScalarType.BFloat16);
        var error = Assert.Throws<EncoderKitException>(() => NewTrainer(bf16, folder.File("l.jsonl"), ComputeDtype.BFloat16));
        Assert.Contains("float32 master weights", error.Message, StringComparison.Ordinal);
    }
}
