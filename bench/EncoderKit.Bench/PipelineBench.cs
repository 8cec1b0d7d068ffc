using System.Diagnostics;
using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.Inference;
using EncoderKit.IO;
using EncoderKit.Runtime;
using static TorchSharp.torch;

namespace EncoderKit.Bench;

/// <summary>
/// Task pipelines end to end (tokenizer, windows, length-sorted batches, model, post-processing) on base-sized models
/// with random weights: reranking pairs/s of a ModernBERT-base-shaped cross-encoder (one label) on (query of 10 words,
/// document of 200 words) pairs, and question answering on 2,000-word contexts with a BERT-base-shaped QA model
/// (windows of 384 tokens, doc stride 128). Every word is one token of a synthetic WordPiece vocabulary, so the
/// lengths are exact. The models are saved to a temporary folder with that vocabulary and loaded back, as the
/// pipelines take the tokenizer of the model's folder.
/// Usage: pipelines [--pairs N] [--contexts N] [--batch-size B] [--threads N] [--dtypes fp32,bf16]
/// </summary>
static class PipelineBench
{
    public static void Run(Arguments args)
    {
        int pairs = args.Ints("--pairs", [32])[0];
        int contexts = args.Ints("--contexts", [2])[0];
        int batchSize = args.Ints("--batch-size", [16])[0];
        string[] dtypes = args.Strings("--dtypes", ["fp32"]);
        int? threads = args.Get("--threads") is { } t ? int.Parse(t) : null;
        var random = new Random(0);
        string Words(int n) => string.Join(' ', Enumerable.Range(0, n).Select(_ => $"w{random.Next(5000)}"));
        var limits = new BatchLimits(MaxRows: batchSize);

        string query = Words(10);
        string[] documents = [.. Enumerable.Range(0, pairs).Select(_ => Words(200))];
        QuestionAndContext[] questions = [.. Enumerable.Range(0, contexts).Select(_ => new QuestionAndContext(Words(10), Words(2000)))];
        var qaOptions = new AnswerOptions(MaxSequenceLength: 384, DocStride: 128);

        Console.WriteLine($"pipelines: random weights, batch {batchSize}, libtorch threads {threads ?? get_num_threads()}, CPU bf16 {CpuBFloat16.Description}");
        Console.WriteLine($"{"dtype",-5} {"task",-34} {"items/s",8} {"tokens/s",9} {"seconds",8}");
        foreach (string dtype in dtypes)
        {
            var compute = new ComputeOptions { Dtype = dtype == "bf16" ? ComputeDtype.BFloat16 : ComputeDtype.Float32, Threads = threads };
            var crossEncoder = JsonNode.Parse(EmbedBench.ModernBertBase)!.AsObject();
            crossEncoder["architectures"] = new JsonArray("ModernBertForSequenceClassification");
            crossEncoder["num_labels"] = 1;
            crossEncoder["pad_token_id"] = 0;   // the synthetic vocabulary's [PAD]
            using (var folder = new ModelFolder(ConfigJson.Parse(crossEncoder.ToJsonString(), "ModernBERT-base cross-encoder (built in)"), compute))
            {
                var reranker = new CrossEncoder(folder.Model);
                reranker.RankAsync(query, documents.Take(2).ToList(), limits: limits).GetAwaiter().GetResult();   // warm-up
                int tokens = documents.Sum(d => folder.Model.Tokenizer.Encode(query, d).Length);
                var clock = Stopwatch.StartNew();
                reranker.RankAsync(query, documents, limits: limits).GetAwaiter().GetResult();
                double seconds = clock.Elapsed.TotalSeconds;
                Console.WriteLine($"{dtype,-5} {$"rerank ({tokens / pairs} tokens/pair) pairs",-34} {pairs / seconds,8:F2} {tokens / seconds,9:F0} {seconds,8:F1}");
            }
            var bertQa = JsonNode.Parse(ForwardBench.BertBase)!.AsObject();
            bertQa["architectures"] = new JsonArray("BertForQuestionAnswering");
            using (var folder = new ModelFolder(ConfigJson.Parse(bertQa.ToJsonString(), "BERT-base QA (built in)"), compute))
            {
                var answerer = new QuestionAnswerer(folder.Model);
                answerer.AnswerAsync([questions[0] with { Context = Words(300) }], qaOptions, limits).GetAwaiter().GetResult();   // warm-up
                var first = folder.Model.Tokenizer.Encode(questions[0].Question, questions[0].Context,
                    new Tokenization.EncodeOptions { MaxLength = 384, Stride = 128, Truncation = Tokenization.TruncationStrategy.OnlySecond });
                int windows = first.Overflowing.Count + 1, windowTokens = first.Length + first.Overflowing.Sum(w => w.Length);
                var clock = Stopwatch.StartNew();
                answerer.AnswerAsync(questions, qaOptions, limits).GetAwaiter().GetResult();
                double seconds = clock.Elapsed.TotalSeconds;
                Console.WriteLine($"{dtype,-5} {$"answer (2,000 words, {windows} windows) contexts",-34} {contexts / seconds,8:F2} {contexts * windowTokens / seconds,9:F0} {seconds,8:F1}");
            }
        }
        Console.WriteLine($"peak RSS: {Measure.PeakRssMiB():F0} MiB");
    }

    /// <summary>A random model saved with the synthetic vocabulary into a temporary folder, loaded back; the folder goes on dispose.</summary>
    sealed class ModelFolder : IDisposable
    {
        readonly string path = Path.Combine(Path.GetTempPath(), "encoderkit-pipeline-bench-" + Guid.NewGuid().ToString("N"));

        public ModelFolder(ConfigJson config, ComputeOptions compute)
        {
            using (var random = EncoderModel.CreateRandom(config, compute, seed: 0)) random.Save(path);
            EmbedBench.SyntheticTokenizer(path);
            Model = EncoderModel.Load(path, compute);
        }

        public EncoderModel Model { get; }

        public void Dispose()
        {
            Model.Dispose();
            Directory.Delete(path, recursive: true);
        }
    }
}
