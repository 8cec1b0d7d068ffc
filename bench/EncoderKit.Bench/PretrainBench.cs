using EncoderKit.Tests.Fuzz;
using System.Diagnostics;
using System.Globalization;
using EncoderKit.IO;
using EncoderKit.Pretraining;
using EncoderKit.Tokenization;
using EncoderKit.Training;

namespace EncoderKit.Bench;

/// <summary>
/// MLM pretraining throughput: prepare-corpus (MB/s of text into token shards), packing and masking (tokens/s, token and
/// whole-word), and optimizer steps of the real pretraining path (packed, masked batches → Trainer) as tokens/s and as
/// the share of the machine's matmul ceiling (TrainBench's: step FLOPs = 3 × forward of encoder and MLM decoder,
/// against a large GEMM of the same dtype), fp32 and bf16 mixed precision, for bert-base at 128 and 512 and
/// ModernBERT-base at 1024 (its FLOPs count full attention in every layer; its sliding-window layers do less, so its
/// share is a slight overestimate). A few steps each: figures, not a pass/fail.
/// Usage: pretrain [--tokenizer DIR] [--rows bert-base:128:8,bert-base:512:2,modernbert-base:1024:1] [--dtypes fp32,bf16]
///                 [--steps 3] [--threads N] [--documents 20000]
/// (a row is model:length:batch; models: small (the bert fixture's shape), bert-base, modernbert-base)
/// </summary>
static class PretrainBench
{
    public static void Run(Arguments args)
    {
        string tokenizerFolder = args.Get("--tokenizer") ?? Path.Combine(FuzzKinds.RepositoryRoot(), "..", "shared", "reference", "tokenizers", "bert-base-cased");
        (string Model, int Length, int Batch)[] shapes = [.. args.Strings("--rows", ["bert-base:128:8", "bert-base:512:2", "modernbert-base:1024:1"])
            .Select(r => r.Split(':')).Select(p => (p[0], int.Parse(p[1], CultureInfo.InvariantCulture), int.Parse(p[2], CultureInfo.InvariantCulture)))];
        string[] dtypes = args.Strings("--dtypes", ["fp32", "bf16"]);
        int steps = (int)args.Double("--steps", 3), documents = (int)args.Double("--documents", 20_000);
        int? threads = args.Get("--threads") is { } t ? int.Parse(t, CultureInfo.InvariantCulture) : null;
        if (threads is { } n) TorchSharp.torch.set_num_threads(n);
        Tokenizer tokenizer = Tokenizer.FromFolder(tokenizerFolder);
        string root = Directory.CreateTempSubdirectory("encoderkit-pretrain-bench-").FullName;
        try
        {
            string input = Path.Combine(root, "corpus.txt");
            var random = new Random(5);
            string[] words = File.ReadAllLines(Path.Combine(tokenizerFolder, "vocab.txt")).Skip(1000).Take(5000).Where(w => !w.StartsWith("##", StringComparison.Ordinal)).ToArray();
            File.WriteAllLines(input, Enumerable.Range(0, documents).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(20, 400)).Select(_ => words[random.Next(words.Length)]))));
            double megabytes = new FileInfo(input).Length / 1e6;
            var clock = new Stopwatch();
            // One thread, then all cores (the figure the scaling is read from); the last run is the corpus used below.
            foreach (int preparationThreads in Environment.ProcessorCount == 1 ? [1] : (int[])[1, Environment.ProcessorCount])
            {
                string output = Path.Combine(root, "corpus");
                if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
                clock.Restart();
                CorpusManifest manifest = CorpusPreparation.Prepare(tokenizer, [input], output, new CorpusPreparationOptions { Threads = preparationThreads });
                double seconds = clock.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"prepare-corpus: {megabytes:F1} MB, {manifest.Tokens:N0} tokens in {seconds:F2} s: {megabytes / seconds:F2} MB/s, {manifest.Tokens / seconds:N0} tokens/s ({preparationThreads} of {Environment.ProcessorCount} cores)"));
            }

            using var corpus = PreparedCorpus.Open(Path.Combine(root, "corpus"), tokenizer);
            int cls = tokenizer.ClsTokenId!.Value, sep = tokenizer.SepTokenId!.Value, pad = tokenizer.PadTokenId!.Value, mask = tokenizer.MaskTokenId!.Value;
            foreach (bool wholeWords in (bool[])[false, true])
            {
                var packer = new SequencePacker(corpus, PackingMode.Fill, 1, cls, sep, pad);
                var masking = new MlmMasking(new MaskingOptions { WholeWordMasking = wholeWords }, mask, tokenizer.VocabSize);
                long tokens = 0;
                clock.Restart();
                for (int row = 0; row < 2000; row++)
                {
                    PackedSequence sequence = packer.Next(512);
                    masking.Mask(sequence, MlmMasking.GeneratorFor(1, 0, row));
                    tokens += sequence.RealLength;
                }
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"pack + {(wholeWords ? "whole-word" : "token")} masking at 512: {tokens / clock.Elapsed.TotalSeconds:N0} tokens/s (one thread)"));
            }

            var ceilings = dtypes.ToDictionary(d => d, d => TrainBench.GemmGflops(d == "bf16" ? TorchSharp.torch.ScalarType.BFloat16 : TorchSharp.torch.ScalarType.Float32));
            foreach (var (dtype, gflops) in ceilings)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"matmul ceiling {dtype}: {gflops:F1} GFLOP/s (4096×768 · 768×3072), libtorch threads {TorchSharp.torch.get_num_threads()}, CPU bf16 {Compute.CpuBFloat16.Description}, MKL kernels {Compute.MklCpuDispatch.KernelBranch()}"));
            Console.WriteLine($"{"model",-16} {"dtype",-5} {"seq",5} {"batch",6} {"s/step",8} {"tokens/s",10} {"GFLOP/s",8} {"of ceiling",10}");
            foreach (var (name, length, batch) in shapes)
            {
                foreach (string dtype in dtypes)
                {
                    using EncoderModel model = EncoderModel.CreateRandom(MaskedLm(name), new Compute.ComputeOptions());
                    using var trainer = new Trainer<PretrainBatch>(model, (compute, b) => b.Loss(compute),
                        new TrainerOptions(new LearningRateSchedule(ScheduleKind.Constant, 1e-4))
                        {
                            WeightDecay = 0.01,
                            ComputeDtype = dtype == "bf16" ? Compute.ComputeDtype.BFloat16 : Compute.ComputeDtype.Float32,
                        });
                    var packer = new SequencePacker(corpus, PackingMode.Fill, 1, cls, sep, pad);
                    var masking = new MlmMasking(new MaskingOptions(), mask, tokenizer.VocabSize);
                    long tokens = 0;
                    double perStep = Measure.SecondsPerRun(() =>
                    {
                        MaskedSequence[] sequences = [.. Enumerable.Range(0, batch).Select(r => masking.Mask(packer.Next(length), MlmMasking.GeneratorFor(1, trainer.Step, r)))];
                        tokens = sequences.Sum(s => (long)s.Packed.RealLength);
                        using PretrainBatch step = PretrainBatch.From(sequences, model.Device);
                        trainer.TrainStep([step]);
                    }, minRuns: steps, minSeconds: 0);
                    double achieved = TrainBench.StepFlops(model.Spec, batch, length) / perStep / 1e9;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{name,-16} {dtype,-5} {length,5} {batch,6} {perStep,8:F2} {tokens / perStep,10:N0} {achieved,8:F1} {achieved / ceilings[dtype],10:P0}"));
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The masked-LM config of a benchmark model.</summary>
    static ConfigJson MaskedLm(string name)
    {
        (string json, string architecture) = name switch
        {
            "small" => (File.ReadAllText(Path.Combine(FuzzKinds.RepositoryRoot(), "..", "shared", "reference", "models", "bert", "config.json")), "BertForMaskedLM"),
            "bert-base" => (ForwardBench.BertBase, "BertForMaskedLM"),
            "modernbert-base" => (EmbedBench.ModernBertBase, "ModernBertForMaskedLM"),
            _ => throw new ArgumentException($"unknown model '{name}' (known: small, bert-base, modernbert-base)"),
        };
        var root = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        root["architectures"] = new System.Text.Json.Nodes.JsonArray(architecture);
        return ConfigJson.Parse(root.ToJsonString(), name + " MLM (built in)");
    }
}
