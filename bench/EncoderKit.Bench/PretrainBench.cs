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
/// whole-word), and optimizer steps (tokens/s) for a small model (the bert fixture's shape, bert-base-cased vocabulary)
/// and bert-base, at each sequence length, fp32. A few steps each: figures, not a pass/fail.
/// Usage: pretrain [--tokenizer DIR] [--lengths 128,512] [--steps 3] [--batch 8] [--models small,base] [--threads N]
/// </summary>
static class PretrainBench
{
    public static void Run(Arguments args)
    {
        string tokenizerFolder = args.Get("--tokenizer") ?? Path.Combine(FuzzKinds.RepositoryRoot(), "..", "shared", "reference", "tokenizers", "bert-base-cased");
        int[] lengths = args.Ints("--lengths", [128, 512]);
        int steps = (int)args.Double("--steps", 3), batch = (int)args.Double("--batch", 8);
        string[] models = args.Strings("--models", ["small", "base"]);
        int? threads = args.Get("--threads") is { } t ? int.Parse(t, CultureInfo.InvariantCulture) : null;
        Tokenizer tokenizer = Tokenizer.FromFolder(tokenizerFolder);
        string root = Directory.CreateTempSubdirectory("encoderkit-pretrain-bench-").FullName;
        try
        {
            string input = Path.Combine(root, "corpus.txt");
            var random = new Random(5);
            string[] words = File.ReadAllLines(Path.Combine(tokenizerFolder, "vocab.txt")).Skip(1000).Take(5000).Where(w => !w.StartsWith("##", StringComparison.Ordinal)).ToArray();
            File.WriteAllLines(input, Enumerable.Range(0, 20_000).Select(_ => string.Join(' ', Enumerable.Range(0, random.Next(20, 400)).Select(_ => words[random.Next(words.Length)]))));
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

            Console.WriteLine($"{"model",-6} {"seq",5} {"batch",6} {"s/step",8} {"tokens/s",10}");
            foreach (string name in models)
            {
                ConfigJson config = name == "base" ? ConfigJson.Parse(ForwardBench.BertBase, "bert-base (built in)")
                    : ConfigJson.Load(Path.Combine(FuzzKinds.RepositoryRoot(), "..", "shared", "reference", "models", "bert", "config.json"));
                config.Root["architectures"] = new System.Text.Json.Nodes.JsonArray("BertForMaskedLM");
                using EncoderModel model = EncoderModel.CreateRandom(config, new Compute.ComputeOptions { Threads = threads });
                using var trainer = new Trainer<PretrainBatch>(model, (compute, b) => b.Loss(compute),
                    new TrainerOptions(new LearningRateSchedule(ScheduleKind.Constant, 1e-4)) { WeightDecay = 0.01 });
                var packer = new SequencePacker(corpus, PackingMode.Fill, 1, cls, sep, pad);
                var masking = new MlmMasking(new MaskingOptions(), mask, tokenizer.VocabSize);
                foreach (int length in lengths)
                {
                    int rows = name == "base" && length > 128 ? Math.Max(1, batch / 4) : batch;
                    double perStep = Measure.SecondsPerRun(() =>
                    {
                        using PretrainBatch step = PretrainBatch.From([.. Enumerable.Range(0, rows).Select(r => masking.Mask(packer.Next(length), MlmMasking.GeneratorFor(1, trainer.Step, r)))], model.Device);
                        trainer.TrainStep([step]);
                    }, minRuns: steps, minSeconds: 0);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-6} {length,5} {rows,6} {perStep,8:F2} {rows * length / perStep,10:N0}"));
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
