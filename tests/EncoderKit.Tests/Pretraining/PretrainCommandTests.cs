using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.Inference;
using EncoderKit.IO;
using EncoderKit.Tests.Cli;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Pretraining;

/// <summary>
/// `encoderkit prepare-corpus` then `encoderkit pretrain` on a tiny BERT (the bert fixture's shape with a 32-token
/// WordPiece vocabulary) and a toy corpus with a learnable structure: "the A sat on the B . the A likes the B ." with
/// A and B drawn from four words each, so the second A and B are predictable from the first.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class PretrainCommandTests
{
    internal static readonly string[] Animals = ["cat", "dog", "bird", "fish"], Places = ["mat", "rug", "bed", "box"];

    /// <summary>The toy corpus prepared with a 32-token WordPiece vocabulary ([PAD] 0, [CLS] 2, [SEP] 3, [MASK] 4), and a tiny model's config.</summary>
    internal sealed class Setup : IDisposable
    {
        public TempFolder Folder { get; } = new();
        public string Tokenizer => Folder.File("tokenizer");
        public string Config => Folder.File("config.json");
        public string Corpus => Folder.File("corpus");

        public Setup(string? architecture = null, string family = "bert")
        {
            Directory.CreateDirectory(Tokenizer);
            File.WriteAllLines(Path.Combine(Tokenizer, "vocab.txt"),
                ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "sat", "on", "likes", ".", .. Animals, .. Places]);
            File.WriteAllText(Config, TinyConfigs.For(family, vocabSize: 32, padId: 0, clsId: 2, sepId: 3, architecture).ToJsonString());
            var random = new Random(4);
            File.WriteAllLines(Folder.File("corpus.txt"), Enumerable.Range(0, 300).Select(_ =>
            {
                string a = Animals[random.Next(4)], b = Places[random.Next(4)];
                return $"the {a} sat on the {b} . the {a} likes the {b} .";
            }));
            var prepared = CliRunner.Run("", "prepare-corpus", "--tokenizer", Tokenizer, "--input", Folder.File("corpus.txt"), "--output", Corpus, "--shard-size", "2000");
            Assert.True(prepared.Exit == 0, prepared.Err);
            Assert.Contains("300 documents, 3,900 tokens", prepared.Out);
        }

        public CliRunner.Result Pretrain(string output, params string[] more) => CliRunner.Run("",
            ["pretrain", "--config", Config, "--tokenizer", Tokenizer, "--corpus", Corpus, "--output", Folder.File(output), "--seed", "7", "--threads", "1", .. more]);

        public void Dispose() => Folder.Dispose();
    }

    internal static List<(long Step, double Loss)> Losses(string output) =>
        [.. File.ReadAllLines(Path.Combine(output, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!).Select(n => (n["step"]!.GetValue<long>(), n["loss"]!.GetValue<double>()))];

    [Fact]
    public void PretrainingFromScratchLearnsTheCorpusStructure()
    {
        using var setup = new Setup();
        // Length 16 holds [CLS], one 13-token document and its [SEP]: the documents align with the positions.
        var run = setup.Pretrain("out", "--max-steps", "300", "--batch-size", "32", "--seq-len", "16", "--learning-rate", "2e-3", "--warmup-steps", "30",
            "--save-steps", "1000", "--log-steps", "100");
        Assert.True(run.Exit == 0, run.Err);
        var losses = Losses(setup.Folder.File("out"));
        Assert.Equal(300, losses.Count);
        double first = losses.Take(5).Average(l => l.Loss), last = losses.TakeLast(10).Average(l => l.Loss);
        // ln 32 ≈ 3.47 at the start; a model that only knew the unigram frequencies would stay near 2.2.
        Assert.True(first > 2.5 && last < 0.5, $"first {first:F3}, last {last:F3}");

        // The output folder is a complete model folder: fill-mask recovers A from the other clause.
        using EncoderModel model = EncoderModel.Load(setup.Folder.File("out"), new ComputeOptions());
        var fillMask = new FillMask(model);
        int right = 0;
        foreach (string a in Animals)
            if (fillMask.Predict($"the {a} sat on the rug . the [MASK] likes the rug .", topK: 1)[0][0].TokenStr == a) right++;
        Assert.True(right >= 3, $"{right} of 4 animals recovered");
    }

    [Fact]
    public void AResumedRunAcrossAStageBoundaryGivesTheUninterruptedLosses()
    {
        using var setup = new Setup();
        string[] recipe = ["--curriculum", "16:6,32:6", "--batch-size", "4", "--gradient-accumulation", "2", "--learning-rate", "1e-3", "--warmup-steps", "2",
            "--save-steps", "3", "--save-total-limit", "10", "--max-steps", "12"];
        var straight = setup.Pretrain("straight", recipe);
        Assert.True(straight.Exit == 0, straight.Err);
        // What a run killed during step 5 leaves: its checkpoint-3, and log lines up to the kill, the last one cut short.
        string straightOut = setup.Folder.File("straight"), resumedOut = setup.Folder.File("resumed");
        Directory.CreateDirectory(Path.Combine(resumedOut, "checkpoint-3"));
        foreach (string file in Directory.GetFiles(Path.Combine(straightOut, "checkpoint-3")))
            File.Copy(file, Path.Combine(resumedOut, "checkpoint-3", Path.GetFileName(file)));
        string[] logged = File.ReadAllLines(Path.Combine(straightOut, "train_log.jsonl"));
        File.WriteAllText(Path.Combine(resumedOut, "train_log.jsonl"), string.Join("\n", logged.Take(4)) + "\n" + logged[4][..10]);
        var resumed = setup.Pretrain("resumed", [.. recipe, "--resume"]);
        Assert.True(resumed.Exit == 0, resumed.Err);
        Assert.Contains("resumed from", resumed.Err);

        // Bit-equal doubles from step 4 on (same data, masks, dropout and optimizer state); the steps redone are logged once.
        var expected = Losses(straightOut);
        Assert.Equal(12, expected.Count);
        Assert.Equal(expected, Losses(resumedOut));
        using SafetensorsFile a = SafetensorsFile.Open(Path.Combine(straightOut, "model.safetensors")), b = SafetensorsFile.Open(Path.Combine(resumedOut, "model.safetensors"));
        foreach (var tensor in a.Tensors) Assert.True(a.Bytes(tensor.Name).SequenceEqual(b.Bytes(tensor.Name)), tensor.Name);
    }

    /// <summary>
    /// A run of 20 steps extended to 30 by --resume --max-steps 30: the learning rates of steps 21–30 are those of the
    /// schedule the run started with (polynomial decay over 20 steps to min_lr 1e-4, then min_lr), unless the resumed
    /// recipe changes the schedule: --schedule-steps 30 re-spans it, a new min_lr replaces it.
    /// </summary>
    [Fact]
    public void ResumeWithMoreStepsExtendsTheRunOnItsOriginalSchedule()
    {
        using var setup = new Setup();
        string[] recipe = ["--batch-size", "4", "--seq-len", "16", "--scheduler", "polynomial", "--learning-rate", "1e-3", "--min-lr", "1e-4", "--warmup-steps", "2",
            "--save-steps", "10", "--save-total-limit", "5"];
        var first = setup.Pretrain("kept", [.. recipe, "--max-steps", "20"]);
        Assert.True(first.Exit == 0, first.Err);
        foreach (string copy in (string[])["respanned", "changed"])
            CopyFolder(setup.Folder.File("kept"), setup.Folder.File(copy));

        // transformers' get_polynomial_decay_schedule_with_warmup, power 1: linear warmup, then linear from 1e-3 to lr_end.
        static double Polynomial(long step, long span, double end) => step < 2 ? 1e-3 * step / 2
            : step > span ? end : (1e-3 - end) * (1 - (double)(step - 2) / (span - 2)) + end;
        static void AssertRates(string output, Func<long, double> expected)
        {
            var rates = File.ReadAllLines(Path.Combine(output, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!)
                .Select(n => (Step: n["step"]!.GetValue<long>(), Rate: n["learning_rate"]!.GetValue<double>())).ToList();
            Assert.Equal(Enumerable.Range(1, 30).Select(s => (long)s), rates.Select(r => r.Step));
            foreach (var (step, rate) in rates) Assert.True(Math.Abs(rate - expected(step - 1)) <= 1e-12, $"step {step}: {rate}, expected {expected(step - 1)}");
        }

        var kept = setup.Pretrain("kept", [.. recipe, "--max-steps", "30", "--resume"]);
        Assert.True(kept.Exit == 0, kept.Err);
        Assert.Contains("stays the one the run started with", kept.Err);
        AssertRates(setup.Folder.File("kept"), step => Polynomial(step, 20, 1e-4));

        var respanned = setup.Pretrain("respanned", [.. recipe, "--max-steps", "30", "--schedule-steps", "30", "--resume"]);
        Assert.True(respanned.Exit == 0, respanned.Err);
        AssertRates(setup.Folder.File("respanned"), step => step < 20 ? Polynomial(step, 20, 1e-4) : Polynomial(step, 30, 1e-4));

        var changed = setup.Pretrain("changed", [.. recipe.Select(a => a == "1e-4" ? "2e-4" : a), "--max-steps", "30", "--resume"]);
        Assert.True(changed.Exit == 0, changed.Err);
        AssertRates(setup.Folder.File("changed"), step => step < 20 ? Polynomial(step, 20, 1e-4) : Polynomial(step, 30, 2e-4));
    }

    static void CopyFolder(string from, string to)
    {
        foreach (string directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(directory.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to));
    }

    [Fact]
    public void Bf16PretrainingKeepsFloat32WeightsAndLearns()
    {
        using var setup = new Setup();
        var run = setup.Pretrain("out", "--max-steps", "40", "--batch-size", "16", "--seq-len", "16", "--learning-rate", "2e-3", "--warmup-steps", "4",
            "--save-steps", "1000", "--dtype", "bf16");
        Assert.True(run.Exit == 0, run.Err);
        var losses = Losses(setup.Folder.File("out"));
        Assert.Equal(40, losses.Count);
        Assert.True(losses.TakeLast(5).Average(l => l.Loss) < losses.Take(5).Average(l => l.Loss) - 0.5, "bf16 training did not lower the loss");
        // Mixed precision: the masters are float32, so the saved weights and their config say float32.
        using SafetensorsFile saved = SafetensorsFile.Open(setup.Folder.File("out/model.safetensors"));
        Assert.All(saved.Tensors, t => Assert.Equal(TensorDtype.F32, t.Dtype));
        Assert.Equal("float32", JsonNode.Parse(File.ReadAllText(setup.Folder.File("out/config.json")))!["torch_dtype"]!.GetValue<string>());
    }

    /// <summary>The real binary killed with SIGKILL once it has written a few checkpoints, then resumed: the uninterrupted run's losses.</summary>
    [Fact, Trait("speed", "slow")]
    public async Task KillNineThenResumeGivesTheUninterruptedLosses()
    {
        using var setup = new Setup();
        string output = setup.Folder.File("killed");
        string[] args = ["pretrain", "--config", setup.Config, "--tokenizer", setup.Tokenizer, "--corpus", setup.Corpus, "--seed", "7", "--threads", "1",
            "--curriculum", "16:20,32:180", "--batch-size", "4", "--learning-rate", "1e-3", "--save-steps", "2", "--save-total-limit", "3", "--log-steps", "1000"];
        var straight = CliRunner.Run("", [.. args, "--output", setup.Folder.File("straight")]);
        Assert.True(straight.Exit == 0, straight.Err);

        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])[CliProcess.CliPath, .. args, "--output", output]) start.ArgumentList.Add(a);
        using (var process = System.Diagnostics.Process.Start(start)!)
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            var checkpoints = new EncoderKit.Training.CheckpointFolders(output, 3);
            while (!checkpoints.Complete().Any(c => c.Step >= 30) && !process.HasExited && waited.Elapsed < TimeSpan.FromMinutes(2)) await Task.Delay(20);
            if (process.HasExited) Assert.Fail("the run ended before it could be killed: " + await process.StandardError.ReadToEndAsync());
            process.Kill();   // SIGKILL: no handler runs
            await process.WaitForExitAsync();
        }
        Assert.False(File.Exists(Path.Combine(output, "model.safetensors")), "the run was killed before its end: " + string.Join(", ", Directory.GetFileSystemEntries(output).Select(Path.GetFileName)));
        var resumed = CliRunner.Run("", [.. args, "--output", output, "--resume"]);
        Assert.True(resumed.Exit == 0, resumed.Err);
        Assert.Equal(Losses(setup.Folder.File("straight")), Losses(output));
    }

    [Fact]
    public void NextSentencePredictionTrainsBothHeads()
    {
        using var setup = new Setup("BertForPreTraining");
        var run = setup.Pretrain("out", "--nsp", "--max-steps", "4", "--batch-size", "4", "--seq-len", "24", "--save-steps", "2");
        Assert.True(run.Exit == 0, run.Err);
        Assert.All(Losses(setup.Folder.File("out")), l => Assert.True(double.IsFinite(l.Loss) && l.Loss > 0));
        Assert.True(File.Exists(setup.Folder.File("out/checkpoint-4/pretrain_state.json")));
    }

    [Fact]
    public void MaskPreviewPrintsTheSequencesAsTheRecipeMasksThem()
    {
        using var setup = new Setup();
        string[] args = ["mask-preview", "--config", setup.Config, "--tokenizer", setup.Tokenizer, "--corpus", setup.Corpus, "--output", setup.Folder.File("o"),
            "--max-steps", "10", "--batch-size", "2", "--seq-len", "40", "--whole-word-masking", "--mlm-probability", "0.3", "--count", "5"];
        var preview = CliRunner.Run("", args);
        Assert.True(preview.Exit == 0, preview.Err);
        string[] lines = preview.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.Equal(lines, CliRunner.Run("", args).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));   // the same draws every time
        foreach (string line in lines)
        {
            JsonNode row = JsonNode.Parse(line)!;
            long[] ids = [.. row["input_ids"]!.AsArray().Select(n => n!.GetValue<long>())], labels = [.. row["labels"]!.AsArray().Select(n => n!.GetValue<long>())];
            long[] original = [.. row["original_ids"]!.AsArray().Select(n => n!.GetValue<long>())];
            int?[] words = [.. row["word_ids"]!.AsArray().Select(n => n?.GetValue<int>())];
            Assert.Equal(40, ids.Length);
            Assert.Equal(2, original[0]);   // [CLS]
            for (int i = 0; i < ids.Length; i++)
            {
                if (labels[i] == -100) Assert.Equal(original[i], ids[i]);
                else Assert.Equal(original[i], labels[i]);
                if (words[i] is null) Assert.Equal(-100, labels[i]);
            }
            Assert.Contains(labels, l => l != -100);
        }
    }

    [Fact]
    public void BadRunsFailWithOneLine()
    {
        using var setup = new Setup("BertModel");
        string noHead = setup.Pretrain("out", "--max-steps", "2").AssertOneLineError();
        Assert.Contains("no MLM head", noHead);
        File.WriteAllText(setup.Folder.File("recipe.json"), "{\"max_steps\": 5, \"mlm_prob\": 0.2}");
        string unknown = CliRunner.Run("", "pretrain", "--recipe", setup.Folder.File("recipe.json")).AssertOneLineError();
        Assert.Contains("mlm_prob", unknown);
        Assert.Contains("unknown field", unknown);
        string nsp = CliRunner.Run("", "pretrain", "--config", setup.Config, "--tokenizer", setup.Tokenizer, "--corpus", setup.Corpus, "--output", setup.Folder.File("o"),
            "--max-steps", "2", "--mlm-probability", "1.5").AssertOneLineError();
        Assert.Contains("mlm_probability", nsp);
    }

    /// <summary>Checkpoints 2 and 4 of a short run with a large learning rate, so that they differ.</summary>
    static (string First, string Second) TwoCheckpoints(Setup setup)
    {
        var run = setup.Pretrain("out", "--max-steps", "4", "--batch-size", "4", "--seq-len", "16", "--save-steps", "2", "--learning-rate", "1e-2");
        Assert.True(run.Exit == 0, run.Err);
        return (setup.Folder.File("out/checkpoint-2"), setup.Folder.File("out/checkpoint-4"));
    }

    /// <summary>
    /// Asserts that every tensor of <paramref name="averaged"/> is <paramref name="expected"/> of the two checkpoints' tensors
    /// in float64, rounded once to float32: exactly what the file must hold. Returns how many tensors differ between the two.
    /// </summary>
    static int AssertEachTensor(string first, string second, string averaged, Func<Tensor, Tensor, Tensor> expected)
    {
        using SafetensorsFile a = SafetensorsFile.Open(Path.Combine(first, "model.safetensors")), b = SafetensorsFile.Open(Path.Combine(second, "model.safetensors")),
            result = SafetensorsFile.Open(Path.Combine(averaged, "model.safetensors"));
        Assert.Equal(a.Tensors.Select(t => t.Name).Order(), result.Tensors.Select(t => t.Name).Order());
        int differing = 0;
        foreach (var tensor in a.Tensors)
        {
            using var scope = NewDisposeScope();
            Tensor x = TorchTensors.Read(a, tensor.Name).to_type(ScalarType.Float64), y = TorchTensors.Read(b, tensor.Name).to_type(ScalarType.Float64);
            if (!x.eq(y).all().item<bool>()) differing++;
            Assert.True(expected(x, y).to_type(ScalarType.Float32).eq(TorchTensors.Read(result, tensor.Name)).all().item<bool>(), tensor.Name);
        }
        return differing;
    }

    [Fact]
    public void AveragingTwoCheckpointsGivesTheirMeanAndCopiesGiveItBack()
    {
        using var setup = new Setup();
        var (first, second) = TwoCheckpoints(setup);
        var averaged = CliRunner.Run("", "average", "--output", setup.Folder.File("mean"), first, second);
        Assert.True(averaged.Exit == 0, averaged.Err);
        int differing = AssertEachTensor(first, second, setup.Folder.File("mean"), (x, y) => (x + y) / 2);
        Assert.True(differing > 10, "the two checkpoints should differ for the mean to mean something");
        Assert.True(EncoderModel.Load(setup.Folder.File("mean"), new ComputeOptions()).Spec.Heads.Mlm is not null);

        var copies = CliRunner.Run("", "average", "--output", setup.Folder.File("same"), second, second, second);
        Assert.True(copies.Exit == 0, copies.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(second, "model.safetensors")), File.ReadAllBytes(setup.Folder.File("same/model.safetensors")));
    }

    [Fact]
    public void WeightedAveragingGivesTheWeightedMeanAndBadWeightsAreNamed()
    {
        using var setup = new Setup();
        var (first, second) = TwoCheckpoints(setup);
        var weighted = CliRunner.Run("", "average", "--output", setup.Folder.File("weighted"), "--weights", "1,3", first, second);
        Assert.True(weighted.Exit == 0, weighted.Err);
        Assert.True(AssertEachTensor(first, second, setup.Folder.File("weighted"), (x, y) => (x + 3 * y) / 4) > 10);

        string wrongCount = CliRunner.Run("", "average", "--output", setup.Folder.File("bad"), "--weights", "1,2,3", first, second).AssertOneLineError();
        Assert.Contains("3 weights for 2 checkpoints", wrongCount);
        string zero = CliRunner.Run("", "average", "--output", setup.Folder.File("bad"), "--weights", "0,0", first, second).AssertOneLineError();
        Assert.Contains("sum to 0", zero);
        string negative = CliRunner.Run("", "average", "--output", setup.Folder.File("bad"), "--weights", "2,-1", first, second).AssertOneLineError();
        Assert.Contains("-1", negative);
        Assert.False(Directory.Exists(setup.Folder.File("bad")));
    }

    [Fact]
    public void CheckpointsOfDifferentModelsAreNotAveraged()
    {
        using var folder = new TempFolder();
        using var bert = TempFolder.FromReference("bert");
        using var nomic = TempFolder.FromReference("nomic_bert");
        string error = CliRunner.Run("", "average", "--output", folder.File("mean"), bert.Path, nomic.Path).AssertOneLineError();
        Assert.Contains("different models", error);
        Assert.False(File.Exists(folder.File("mean/model.safetensors")));
    }
}
