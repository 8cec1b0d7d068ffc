using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.Evaluation;
using EncoderKit.FineTuning;
using EncoderKit.Inference;
using EncoderKit.Modeling;
using EncoderKit.Tests.Cli;
using EncoderKit.Tests.FineTuning;

namespace EncoderKit.Tests.Evaluation;

/// <summary>
/// <c>evaluate --finetune</c>: run_glue's workflow in one command, on a GLUE-layout SST-2 folder the test writes (a
/// tiny random BERT, a sentiment rule over known words). The threshold (0.9 dev accuracy) is far above chance and
/// below what the run reaches, so it tests that the head learned from train.tsv; the dev accuracy is recomputed here
/// from the fine-tuned model's own predictions, so it is the dev split's.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class EvaluateFinetuneTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    readonly TempFolder _work = new();

    public void Dispose() => _work.Dispose();

    /// <summary>SST-2's TSV layout: a header, then sentence and label (0 negative, 1 positive).</summary>
    static (string Sentence, int Label)[] WriteSst2(string path, int count, int seed)
    {
        var random = new Random(seed);
        var rows = new (string, int)[count];
        for (int i = 0; i < count; i++)
        {
            int label = random.Next(2);
            var words = Enumerable.Range(0, 5).Select(_ => TinyTasks.Fillers[random.Next(TinyTasks.Fillers.Length)]).ToList();
            string[] cue = label == 1 ? TinyTasks.Positive : TinyTasks.Negative;
            words.Insert(random.Next(words.Count + 1), cue[random.Next(cue.Length)]);
            rows[i] = (string.Join(' ', words), label);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, ["sentence\tlabel", .. rows.Select(r => $"{r.Item1}\t{r.Item2}")]);
        return rows;
    }

    [Fact, Trait("speed", "slow")]
    public async Task FinetuneTrainsOnTheTrainSplitAndScoresTheDevSplit()
    {
        string model = TinyTasks.BaseModel(_work.File("base"));
        WriteSst2(_work.File("sst2/train.tsv"), 400, 1);
        var dev = WriteSst2(_work.File("sst2/dev.tsv"), 80, 2);
        string results = _work.File("results/sst2.json");
        // The recipe's batch and epochs overridden: 400 examples / 16 = 25 steps an epoch, 100 in all.
        var run = await CliRunner.RunAsync(["evaluate", "--model", model, "--task", "glue/sst2", "--data", _work.File("sst2"), "--finetune", "--output", results,
            "--learning-rate", "2e-3", "--epochs", "4", "--train-batch-size", "16", "--warmup-ratio", "0.1", "--threads", "1"]);
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("fine-tuning on SST-2's train split", run.Err);

        using var json = JsonDocument.Parse(File.ReadAllText(results));
        Assert.Equal("SST-2", json.RootElement.GetProperty("task_name").GetString());
        Assert.Equal(model, json.RootElement.GetProperty("model_name").GetString());
        JsonElement scores = json.RootElement.GetProperty("scores");
        Assert.Equal(["dev"], scores.EnumerateObject().Select(p => p.Name));
        double accuracy = scores.GetProperty("dev")[0].GetProperty("accuracy").GetDouble();
        Assert.Equal(accuracy, scores.GetProperty("dev")[0].GetProperty("main_score").GetDouble());
        output.WriteLine($"dev accuracy {accuracy}");
        Assert.True(accuracy >= 0.9, $"dev accuracy {accuracy}");

        // The fine-tuned model sits beside the results, its labels named as SST-2 names its classes, and its own
        // predictions on dev.tsv give the accuracy written.
        string tuned = _work.File("results/finetuned/glue_sst2");
        using EncoderModel trained = EncoderModel.Load(tuned);
        Assert.Equal(["BertForSequenceClassification"], trained.Config.Strings("architectures"));
        Assert.Equal(["negative", "positive"], trained.Config.LabelNames());
        var classifier = new TextClassifier(trained);
        var predicted = await classifier.ClassifyAsync([.. dev.Select(d => new TextToClassify(d.Sentence, null))], 1);
        double expected = dev.Select((d, i) => predicted[i][0].Label == (d.Label == 1 ? "positive" : "negative") ? 1.0 : 0.0).Average();
        Assert.Equal(expected, accuracy, 12);

        // Every step trained on train.tsv, and nothing was evaluated during training: dev.tsv picks no checkpoint.
        var log = File.ReadAllLines(Path.Combine(tuned, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(100, log.Count(l => l.ContainsKey("loss")));
        Assert.DoesNotContain(log, l => l.Any(p => p.Key.StartsWith("eval_", StringComparison.Ordinal)));
    }

    /// <summary>JSQuAD's SQuAD v1.1 layout: "what color ?" over fillers holding one color word, the answer.</summary>
    static void WriteColorQuestions(string path, int count, int seed)
    {
        var random = new Random(seed);
        var articles = new JsonArray();
        for (int i = 0; i < count; i++)
        {
            var words = Enumerable.Range(0, 8 + random.Next(8)).Select(_ => TinyTasks.Fillers[random.Next(TinyTasks.Fillers.Length)]).ToList();
            int at = random.Next(words.Count + 1);
            string color = TinyTasks.Colors[random.Next(TinyTasks.Colors.Length)];
            words.Insert(at, color);
            int start = string.Join(' ', words.Take(at)).Length + (at > 0 ? 1 : 0);
            articles.Add(new JsonObject
            {
                ["title"] = "colors",
                ["paragraphs"] = new JsonArray(new JsonObject
                {
                    ["context"] = string.Join(' ', words),
                    ["qas"] = new JsonArray(new JsonObject
                    {
                        ["id"] = $"q{i}", ["question"] = "what color ?", ["is_impossible"] = false,
                        ["answers"] = new JsonArray(new JsonObject { ["text"] = color, ["answer_start"] = start }),
                    }),
                }),
            });
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, new JsonObject { ["version"] = "v1.1", ["data"] = articles }.ToJsonString());
    }

    [Fact, Trait("speed", "slow")]
    public async Task FinetuneTrainsAQaHeadForJsquad()
    {
        string model = TinyTasks.BaseModel(_work.File("base"));
        WriteColorQuestions(_work.File("jsquad/train-v1.1.json"), 400, 1);
        WriteColorQuestions(_work.File("jsquad/valid-v1.1.json"), 40, 2);
        string results = _work.File("jsquad.json");
        var run = await CliRunner.RunAsync(["evaluate", "--model", model, "--task", "jglue/jsquad", "--data", _work.File("jsquad"), "--finetune", "--output", results,
            "--learning-rate", "2e-3", "--epochs", "2", "--train-batch-size", "16", "--max-seq-length", "32", "--threads", "1"]);
        Assert.True(run.Exit == 0, run.Err);
        using var json = JsonDocument.Parse(File.ReadAllText(results));
        JsonElement valid = json.RootElement.GetProperty("scores").GetProperty("valid")[0];
        output.WriteLine($"exact match {valid.GetProperty("exact_match").GetDouble()}, f1 {valid.GetProperty("f1").GetDouble()}");
        // A random head finds the one color word among 9-16 by chance about once in 100 spans; learned, nearly always.
        Assert.True(valid.GetProperty("exact_match").GetDouble() >= 0.8, $"exact match {valid.GetProperty("exact_match").GetDouble()}");
        using EncoderModel trained = EncoderModel.Load(_work.File("finetuned/jglue_jsquad"));
        Assert.Equal(["BertForQuestionAnswering"], trained.Config.Strings("architectures"));
    }

    [Fact, Trait("speed", "slow")]
    public async Task FinetuneTrainsAMultipleChoiceHeadForJCommonsenseQa()
    {
        // JCommonsenseQA's JSON lines: "what color ?" with five choices, one of them a color word.
        void Write(string path, int count, int seed)
        {
            var random = new Random(seed);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllLines(path, Enumerable.Range(0, count).Select(i =>
            {
                int gold = random.Next(5);
                var line = new JsonObject { ["q_id"] = i, ["question"] = "what color ?" };
                for (int c = 0; c < 5; c++)
                    line[$"choice{c}"] = c == gold ? TinyTasks.Colors[random.Next(TinyTasks.Colors.Length)] : TinyTasks.Fillers[random.Next(TinyTasks.Fillers.Length)];
                line["label"] = gold;
                return line.ToJsonString();
            }));
        }
        string model = TinyTasks.BaseModel(_work.File("base"));
        Write(_work.File("jcqa/train-v1.1.json"), 400, 1);
        Write(_work.File("jcqa/valid-v1.1.json"), 40, 2);
        string results = _work.File("jcqa.json");
        var run = await CliRunner.RunAsync(["evaluate", "--model", model, "--task", "jglue/jcommonsenseqa", "--data", _work.File("jcqa"), "--finetune", "--output", results,
            "--learning-rate", "2e-3", "--epochs", "3", "--train-batch-size", "16", "--threads", "1"]);
        Assert.True(run.Exit == 0, run.Err);
        using var json = JsonDocument.Parse(File.ReadAllText(results));
        double accuracy = json.RootElement.GetProperty("scores").GetProperty("valid")[0].GetProperty("accuracy").GetDouble();
        output.WriteLine($"accuracy {accuracy}");
        Assert.True(accuracy >= 0.8, $"accuracy {accuracy} (chance: 0.2)");
        using EncoderModel trained = EncoderModel.Load(_work.File("finetuned/jglue_jcommonsenseqa"));
        Assert.Equal(["BertForMultipleChoice"], trained.Config.Strings("architectures"));
    }

    [Fact]
    public void TheRecipesAreTheBenchmarksOwn()
    {
        // run_glue's example command: 2e-5, batch 32, 3 epochs, max_seq_length 128, seed 42, no warmup.
        Assert.Equal(new FineTuningRecipe(2e-5, 32, 3, 128, 0, 42), BenchmarkFineTuning.Recipe(BenchmarkTasks.Find("glue/mrpc")!));
        // JGLUE's fine-tuning README: 5e-5, warmup 0.1; JSQuAD 384 tokens for 3 epochs, JCommonsenseQA 64 tokens in batches of 64.
        Assert.Equal(new FineTuningRecipe(5e-5, 32, 3, 384, 0.1, 42), BenchmarkFineTuning.Recipe(BenchmarkTasks.Find("jglue/jsquad")!));
        Assert.Equal(new FineTuningRecipe(5e-5, 64, 4, 64, 0.1, 42), BenchmarkFineTuning.Recipe(BenchmarkTasks.Find("jglue/jcommonsenseqa")!));
        Assert.Equal(512, BenchmarkFineTuning.Recipe(BenchmarkTasks.Find("jglue/marc-ja")!).MaxSeqLength);
    }

    [Fact]
    public void FinetuneNeedsTheTaskFolder()
    {
        string model = TinyTasks.BaseModel(_work.File("base"));
        WriteSst2(_work.File("sst2/dev.tsv"), 4, 1);
        string line = CliRunner.Run("", "evaluate", "--model", model, "--task", "glue/sst2", "--data", _work.File("sst2/dev.tsv"), "--finetune").AssertOneLineError();
        Assert.Contains("dev.tsv: --data: fine-tuning needs the SST-2 task folder", line);
        line = CliRunner.Run("", "evaluate", "--model", model, "--task", "glue/sst2", "--data", _work.File("sst2"), "--finetune").AssertOneLineError();
        Assert.Contains("train.tsv", line);

        // A second run into the same folder stops before training, instead of mixing two runs' checkpoints.
        WriteSst2(_work.File("sst2/train.tsv"), 4, 2);
        Directory.CreateDirectory(_work.File("tuned/glue_sst2"));
        File.WriteAllText(_work.File("tuned/glue_sst2/config.json"), "{}");
        line = CliRunner.Run("", "evaluate", "--model", model, "--task", "glue/sst2", "--data", _work.File("sst2"), "--finetune", "--finetune-output", _work.File("tuned"))
            .AssertOneLineError();
        Assert.Contains("glue_sst2: --finetune-output: already holds a fine-tuned model or run; pass --resume", line);
        // --resume continues runs, and a folder without one is not a run to continue.
        line = CliRunner.Run("", "evaluate", "--model", model, "--task", "glue/sst2", "--data", _work.File("sst2"), "--finetune", "--finetune-output", _work.File("tuned"), "--resume")
            .AssertOneLineError();
        Assert.Contains("glue_sst2: --finetune-output: holds files but no checkpoint of a run to resume", line);
        line = CliRunner.Run("", "evaluate", "--model", model, "--task", "glue/sst2", "--data", _work.File("sst2"), "--resume").AssertOneLineError();
        Assert.Contains("--resume: continues an interrupted --finetune run", line);
    }

    [Fact, Trait("speed", "slow")]
    public async Task ResumeScoresAFinishedRunAgainWithoutTrainingAndRecoversItsModel()
    {
        string model = TinyTasks.BaseModel(_work.File("base"));
        WriteSst2(_work.File("sst2/train.tsv"), 160, 1);
        WriteSst2(_work.File("sst2/dev.tsv"), 40, 2);
        string[] Args(string results, params string[] more) =>
            ["evaluate", "--model", model, "--task", "glue/sst2", "--data", _work.File("sst2"), "--finetune", "--output", results,
             "--learning-rate", "2e-3", "--epochs", "2", "--train-batch-size", "16", "--threads", "1", .. more];
        static double Accuracy(string results)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(results));
            return json.RootElement.GetProperty("scores").GetProperty("dev")[0].GetProperty("accuracy").GetDouble();
        }
        var first = await CliRunner.RunAsync(Args(_work.File("results/first.json")));
        Assert.True(first.Exit == 0, first.Err);
        string tuned = _work.File("results/finetuned/glue_sst2"), log = Path.Combine(tuned, "train_log.jsonl");
        string[] logLines = File.ReadAllLines(log);
        Assert.Equal(20, logLines.Count(l => l.Contains("\"loss\"", StringComparison.Ordinal)));   // 160 / 16 × 2 epochs

        // Killed after the last checkpoint but before the model was written: --resume writes it from the checkpoint,
        // trains nothing (the log is as it was), and scores what the first run would have.
        File.Delete(Path.Combine(tuned, "model.safetensors"));
        var resumed = await CliRunner.RunAsync(Args(_work.File("results/resumed.json"), "--resume"));
        Assert.True(resumed.Exit == 0, resumed.Err);
        Assert.Contains("continuing the run in", resumed.Err);
        Assert.Contains("from checkpoint-20", resumed.Err);
        Assert.Equal(logLines, File.ReadAllLines(log));
        Assert.True(File.Exists(Path.Combine(tuned, "model.safetensors")));
        Assert.Equal(Accuracy(_work.File("results/first.json")), Accuracy(_work.File("results/resumed.json")));
    }
}
