using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.Inference;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Tests.Cli;
using EncoderKit.Tests.Embeddings;

namespace EncoderKit.Tests.Evaluation;

/// <summary>
/// `encoderkit evaluate` end to end, in-process, on data the tests write: a suite of every embedding task type over a
/// small reference model as a sentence encoder, GLUE tasks over the reference sequence classifiers, and bad input.
/// Scores are checked against values computed here from the model's own embeddings or logits; 1e-5 tolerance on
/// those, the rounding MTEB applies to retrieval scores.
/// </summary>
public sealed class EvaluateCommandTests : IDisposable
{
    static readonly string[] Documents =
    [
        "The cat sat on the mat.", "Dogs like to play in the park.", "The stock market fell today.", "Rain is expected tomorrow.",
        "She plays the piano every evening.", "The train leaves at noon.", "A new bridge opened in the city.", "He reads books about history.",
    ];

    readonly SentenceFolder _model = SentenceFolder.MeanNormalized(settings: new { prompts = new { query = "search_query: ", document = "search_document: " } });
    readonly TempFolder _work = new();

    public void Dispose()
    {
        _model.Dispose();
        _work.Dispose();
    }

    string Write(string relative, params string[] lines)
    {
        string path = _work.File(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
        return path;
    }

    static string Json(object value) => JsonSerializer.Serialize(value);

    void WriteSuiteData()
    {
        Write("beir/corpus.jsonl", Documents.Select((d, i) => Json(new { _id = $"d{i}", title = "", text = d })).ToArray());
        Write("beir/queries.jsonl", Json(new { _id = "q0", text = "Where did the cat sit?" }), Json(new { _id = "q1", text = "When does the train leave?" }),
            Json(new { _id = "q2", text = "not judged" }));
        Write("beir/qrels/test.tsv", "query-id\tcorpus-id\tscore", "q0\td0\t1", "q1\td5\t1", "q1\td3\t0");
        Write("sts.jsonl",
            Json(new { sentence1 = "A cat sits.", sentence2 = "A cat is sitting.", score = 4.8 }),
            Json(new { sentence1 = "A dog runs.", sentence2 = "The market fell.", score = 0.2 }),
            Json(new { sentence1 = "It will rain.", sentence2 = "Rain is expected.", score = 4.1 }),
            Json(new { sentence1 = "He reads.", sentence2 = "She plays the piano.", score = 1.5 }),
            Json(new { sentence1 = "The train leaves.", sentence2 = "A bridge opened.", score = 0.9 }));
        Write("pairs.jsonl",
            Json(new { sentence1 = "A cat sits.", sentence2 = "A cat is sitting.", label = 1 }),
            Json(new { sentence1 = "A dog runs.", sentence2 = "The market fell.", label = 0 }),
            Json(new { sentence1 = "It will rain.", sentence2 = "Rain is expected.", label = 1 }),
            Json(new { sentence1 = "He reads.", sentence2 = "She plays the piano.", label = 0 }));
        string[] topics = ["sports", "weather"];
        Write("cls/train.jsonl", Enumerable.Range(0, 12).Select(i => Json(new { text = $"{(i % 2 == 0 ? "football match" : "rain and wind")} number {i}", label = topics[i % 2] })).ToArray());
        Write("cls/test.jsonl", Enumerable.Range(0, 6).Select(i => Json(new { text = $"{(i % 2 == 0 ? "tennis game" : "sunny sky")} {i}", label = topics[i % 2] })).ToArray());
        Write("clustering.jsonl", Documents.Select((d, i) => Json(new { text = d, label = i % 2 })).ToArray());
        Write("reranking.jsonl", Json(new { query = "cats", positive = new[] { Documents[0] }, negative = new[] { Documents[2], Documents[3] } }),
            Json(new { query = "trains", positive = new[] { Documents[5] }, negative = new[] { Documents[6] } }));
        Write("summarization.jsonl", Json(new
        {
            text = "A long article.", human_summaries = new[] { Documents[0], Documents[1] }, machine_summaries = new[] { Documents[2], Documents[0], Documents[4] },
            relevance = new[] { 1.0, 4.5, 2.0 },
        }));
        Write("suite.json", Json(new
        {
            tasks = new object[]
            {
                new { task = "retrieval", data = "beir", name = "TinyRetrieval", languages = new[] { "eng-Latn" } },
                new { task = "sts", data = "sts.jsonl" },
                new { task = "pair-classification", data = "pairs.jsonl" },
                new { task = "classification", data = "cls" },
                new { task = "clustering", data = "clustering.jsonl" },
                new { task = "reranking", data = "reranking.jsonl" },
                new { task = "summarization", data = "summarization.jsonl" },
            },
        }));
    }

    [Fact]
    public void SuiteWritesMtebLayoutResultsAndASummaryAndReusesItsEmbeddings()
    {
        WriteSuiteData();
        string results = _work.File("results");
        var run = CliRunner.Run("", "evaluate", "--model", _model.Path, "--suite", _work.File("suite.json"), "--output", results);
        Assert.True(run.Exit == 0, run.Err);

        string[] names = ["TinyRetrieval", "sts", "pairs", "cls", "clustering", "reranking", "summarization"];
        string[] types = ["Retrieval", "STS", "PairClassification", "Classification", "Clustering", "Reranking", "Summarization"];
        string[] mains = ["ndcg_at_10", "cosine_spearman", "max_ap", "accuracy", "v_measure", "map", "cosine_spearman"];
        for (int i = 0; i < names.Length; i++)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, names[i] + ".json")));
            JsonElement root = document.RootElement;
            Assert.Equal(names[i], root.GetProperty("task_name").GetString());
            Assert.StartsWith("encoderkit-", root.GetProperty("mteb_version").GetString());
            Assert.True(root.GetProperty("evaluation_time").GetDouble() >= 0);
            Assert.Equal(_model.Path, root.GetProperty("model_name").GetString());
            JsonElement scores = root.GetProperty("scores").GetProperty("test")[0];
            Assert.Equal("default", scores.GetProperty("hf_subset").GetString());
            Assert.Equal(JsonValueKind.Array, scores.GetProperty("languages").ValueKind);
            Assert.Equal(scores.GetProperty(mains[i]).GetDouble(), scores.GetProperty("main_score").GetDouble());
        }
        Assert.Contains("TinyRetrieval", File.ReadAllText(Path.Combine(results, "summary.md")));
        string[] csv = File.ReadAllLines(Path.Combine(results, "summary.csv"));
        Assert.Equal(1 + names.Length + types.Length + 2, csv.Length);
        Assert.All(types, t => Assert.Contains(csv, line => line.StartsWith("," + t + ",", StringComparison.Ordinal)));
        Assert.Contains("Mean (TaskType)", run.Out);

        CheckRetrievalAgainstOwnRanking(results);
        CheckStsAgainstOwnCorrelation(results);

        // Second run: every text is in the cache, so nothing is appended and the scores are the same.
        string cache = Path.Combine(results, "embedding-cache");
        var sizes = Directory.GetFiles(cache).ToDictionary(f => f, f => new FileInfo(f).Length);
        Assert.NotEmpty(sizes);
        string first = File.ReadAllText(Path.Combine(results, "sts.json"));
        var again = CliRunner.Run("", "evaluate", "--model", _model.Path, "--suite", _work.File("suite.json"), "--output", results);
        Assert.True(again.Exit == 0, again.Err);
        Assert.Equal(sizes, Directory.GetFiles(cache).ToDictionary(f => f, f => new FileInfo(f).Length));
        using var before = JsonDocument.Parse(first);
        using var after = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "sts.json")));
        Assert.Equal(before.RootElement.GetProperty("scores").GetProperty("test")[0].GetProperty("cosine_spearman").GetDouble(),
            after.RootElement.GetProperty("scores").GetProperty("test")[0].GetProperty("cosine_spearman").GetDouble());
    }

    /// <summary>nDCG@10 with one relevant document per query is 1/log2(rank + 1): ranks from cosines computed here.</summary>
    void CheckRetrievalAgainstOwnRanking(string results)
    {
        using var encoder = SentenceEncoder.Load(_model.Path);
        float[][] documents = encoder.Encode(Documents, prompt: "search_document: ");
        float[][] queries = encoder.Encode(["Where did the cat sit?", "When does the train leave?"], prompt: "search_query: ");
        int[] relevant = [0, 5];
        double sum = 0;
        for (int q = 0; q < 2; q++)
        {
            float[] cosines = documents.Select(d => Cosine(queries[q], d)).ToArray();
            int rank = 1 + cosines.Count(c => c > cosines[relevant[q]]);
            sum += rank <= 10 ? 1 / Math.Log2(rank + 1) : 0;
        }
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "TinyRetrieval.json")));
        Assert.Equal(sum / 2, json.RootElement.GetProperty("scores").GetProperty("test")[0].GetProperty("ndcg_at_10").GetDouble(), 1e-5);
    }

    void CheckStsAgainstOwnCorrelation(string results)
    {
        using var encoder = SentenceEncoder.Load(_model.Path);
        string[] first = ["A cat sits.", "A dog runs.", "It will rain.", "He reads.", "The train leaves."];
        string[] second = ["A cat is sitting.", "The market fell.", "Rain is expected.", "She plays the piano.", "A bridge opened."];
        double[] gold = [4.8, 0.2, 4.1, 1.5, 0.9];
        float[][] a = encoder.Encode(first), b = encoder.Encode(second);
        double[] cosines = a.Zip(b, (x, y) => (double)Cosine(x, y)).ToArray();
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "sts.json")));
        Assert.Equal(Pearson(Ranks(gold), Ranks(cosines)), json.RootElement.GetProperty("scores").GetProperty("test")[0].GetProperty("cosine_spearman").GetDouble(), 1e-5);
    }

    [Fact]
    public void GlueMnliScoresBothDevSetsThroughTheClassifierAndWritesOneFile()
    {
        using var model = TempFolder.FromReference("bert-seqcls", "bert-base-cased");
        string header = "index\tpromptID\tpairID\tgenre\tsentence1\tsentence2\tlabel1\tgold_label";
        (string, string, string)[] matched = [("A man plays.", "Someone plays.", "entailment"), ("The sky is blue.", "It rains.", "contradiction"),
            ("Dogs bark.", "A dog is loud.", "neutral"), ("She sings.", "Nobody sings.", "contradiction")];
        (string, string, string)[] mismatched = [("Cats sleep.", "An animal rests.", "entailment"), ("He left.", "He stayed.", "contradiction")];
        Write("mnli/dev_matched.tsv", [header, .. matched.Select((r, i) => $"{i}\t0\t0\tfiction\t{r.Item1}\t{r.Item2}\t{r.Item3}\t{r.Item3}")]);
        Write("mnli/dev_mismatched.tsv", [header, .. mismatched.Select((r, i) => $"{i}\t0\t0\tletters\t{r.Item1}\t{r.Item2}\t{r.Item3}\t{r.Item3}")]);
        string output = _work.File("mnli.json");
        var run = CliRunner.Run("", "evaluate", "--model", model.Path, "--task", "glue/mnli", "--data", _work.File("mnli"), "--output", output);
        Assert.True(run.Exit == 0, run.Err);
        Assert.Contains("MNLI", run.Out);

        // The model's labels (negative, neutral, positive) are not MNLI's, so its outputs count by position.
        using var encoder = EncoderModel.Load(model.Path);
        var classifier = new TextClassifier(encoder);
        string[] gold = ["entailment", "neutral", "contradiction"];
        double Accuracy((string, string, string)[] rows) => rows.Average(r =>
        {
            string best = classifier.Classify(r.Item1, r.Item2, topK: 1)[0].Label;
            return classifier.Labels.ToList().IndexOf(best) == Array.IndexOf(gold, r.Item3) ? 1.0 : 0.0;
        });
        using var json = JsonDocument.Parse(File.ReadAllText(output));
        JsonElement scores = json.RootElement.GetProperty("scores");
        Assert.Equal("MNLI", json.RootElement.GetProperty("task_name").GetString());
        Assert.Equal(Accuracy(matched), scores.GetProperty("dev_matched")[0].GetProperty("accuracy").GetDouble(), 1e-12);
        Assert.Equal(Accuracy(mismatched), scores.GetProperty("dev_mismatched")[0].GetProperty("accuracy").GetDouble(), 1e-12);
        Assert.Equal("eng-Latn", scores.GetProperty("dev_matched")[0].GetProperty("languages")[0].GetString());
    }

    [Fact]
    public void JCommonsenseQaScoresTheMultipleChoiceModelsBestChoice()
    {
        using var model = TempFolder.FromReference("bert-mc", "bert-base-cased");
        (string Question, string[] Choices, int Gold)[] rows =
        [
            ("Where do fish live?", ["water", "sky", "desert", "moon", "oven"], 0),
            ("What do cats chase?", ["cars", "mice", "clouds", "rivers", "books"], 1),
            ("What is hot?", ["ice", "snow", "fire", "rain", "frost"], 2),
            ("What do bees make?", ["steel", "glass", "paper", "honey", "stone"], 3),
        ];
        Write("jcqa/valid-v1.1.json", [.. rows.Select((r, i) => new JsonObject
        {
            ["q_id"] = i, ["question"] = r.Question,
            ["choice0"] = r.Choices[0], ["choice1"] = r.Choices[1], ["choice2"] = r.Choices[2], ["choice3"] = r.Choices[3], ["choice4"] = r.Choices[4],
            ["label"] = r.Gold,
        }.ToJsonString())]);
        string output = _work.File("jcqa.json");
        var run = CliRunner.Run("", "evaluate", "--model", model.Path, "--task", "jglue/jcommonsenseqa", "--data", _work.File("jcqa"), "--output", output);
        Assert.True(run.Exit == 0, run.Err);

        // The share of questions whose gold choice the pipeline ranks first (the pipeline is checked against the model's
        // choice logits in MultipleChoiceTests).
        using var encoder = EncoderModel.Load(model.Path);
        var pipeline = new MultipleChoice(encoder);
        double expected = rows.Average(r => pipeline.Choose(r.Question, r.Choices).Label == r.Gold ? 1.0 : 0.0);
        using var json = JsonDocument.Parse(File.ReadAllText(output));
        Assert.Equal("JCommonsenseQA", json.RootElement.GetProperty("task_name").GetString());
        Assert.Equal(expected, json.RootElement.GetProperty("scores").GetProperty("valid")[0].GetProperty("accuracy").GetDouble(), 1e-12);

        Write("bad/valid-v1.1.json", ["""{"q_id": 0, "question": "q", "choice0": "a", "choice1": "b", "choice2": "c", "choice3": "d", "choice4": "e", "label": 7}"""]);
        var bad = CliRunner.Run("", "evaluate", "--model", model.Path, "--task", "jglue/jcommonsenseqa", "--data", _work.File("bad"));
        Assert.NotEqual(0, bad.Exit);
        Assert.Contains("line 1", bad.Err, StringComparison.Ordinal);
        Assert.Contains("not a choice index", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsquadScoresTheQaModelsAnswersWithJgluesCharacterF1()
    {
        using var model = TempFolder.FromReference("bert-qa", "bert-base-cased");
        (string Question, string Context, string[] Answers)[] rows =
        [
            ("東京タワーの高さは？", "東京タワー [SEP] 東京タワーは港区にある電波塔で、高さは333メートルである。", ["333メートル", "333メートルである。"]),
            ("最高速度は？", "東海道新幹線 [SEP] 最高速度285 km/hで運行されている。", ["285 km/h"]),
            ("誰が書いた？", "吾輩は猫である [SEP] 夏目漱石の小説。1905年に発表された。", ["夏目漱石"]),
        ];
        // SQuAD v1.1's layout, as JGLUE ships valid-v1.1.json: one article per row here, answer_start the character offset.
        var data = new JsonArray([.. rows.Select((r, i) => (JsonNode)new JsonObject
        {
            ["title"] = r.Context[..r.Context.IndexOf(" [SEP]", StringComparison.Ordinal)],
            ["paragraphs"] = new JsonArray(new JsonObject
            {
                ["context"] = r.Context,
                ["qas"] = new JsonArray(new JsonObject
                {
                    ["id"] = $"q{i}", ["question"] = r.Question, ["is_impossible"] = false,
                    ["answers"] = new JsonArray([.. r.Answers.Select(a => (JsonNode)new JsonObject { ["text"] = a, ["answer_start"] = r.Context.IndexOf(a, StringComparison.Ordinal) })]),
                }),
            }),
        })]);
        Write("jsquad/valid-v1.1.json", new JsonObject { ["version"] = "v1.1", ["data"] = data }.ToJsonString());
        string output = _work.File("jsquad.json");
        var run = CliRunner.Run("", "evaluate", "--model", model.Path, "--task", "jglue/jsquad", "--data", _work.File("jsquad"), "--output", output);
        Assert.True(run.Exit == 0, run.Err);

        // The pipeline's best answer per question (run_squad's max_answer_length 30, spans as the tokens cover them),
        // scored here as JGLUE scores it: lower-cased, trailing 。 stripped, whitespace collapsed, F1 over characters.
        using var encoder = EncoderModel.Load(model.Path);
        using var answerer = new QuestionAnswerer(encoder);
        var answers = await answerer.AnswerAsync([.. rows.Select(r => new QuestionAndContext(r.Question, r.Context))], new AnswerOptions(MaxAnswerLength: 30, AlignToWords: false));
        static string Normal(string s) => string.Join(' ', s.ToLowerInvariant().TrimEnd('。').Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        static double CharacterF1(string predicted, string gold)
        {
            var left = Normal(gold).GroupBy(c => c).ToDictionary(g => g.Key, g => g.Count());
            int same = 0;
            foreach (char c in Normal(predicted))
                if (left.GetValueOrDefault(c) > 0) { left[c]--; same++; }
            return same == 0 ? 0 : 2.0 * same / (Normal(predicted).Length + Normal(gold).Length);
        }
        string[] predictions = [.. answers.Select(a => a[0].Text)];
        double exact = rows.Select((r, i) => r.Answers.Any(g => Normal(g) == Normal(predictions[i])) ? 1.0 : 0.0).Average();
        double f1 = rows.Select((r, i) => r.Answers.Max(g => CharacterF1(predictions[i], g))).Average();

        using var json = JsonDocument.Parse(File.ReadAllText(output));
        Assert.Equal("JSQuAD", json.RootElement.GetProperty("task_name").GetString());
        JsonElement valid = json.RootElement.GetProperty("scores").GetProperty("valid")[0];
        Assert.Equal(exact, valid.GetProperty("exact_match").GetDouble(), 12);
        Assert.Equal(f1, valid.GetProperty("f1").GetDouble(), 12);
        Assert.Equal(exact, valid.GetProperty("main_score").GetDouble(), 12);
        Assert.Equal("jpn-Jpan", valid.GetProperty("languages")[0].GetString());

        // A question without a context names its place in the file.
        Write("bad/valid-v1.1.json", """{"data": [{"title": "t", "paragraphs": [{"context": " ", "qas": [{"id": "x", "question": "q", "answers": []}]}]}]}""");
        string line = CliRunner.Run("", "evaluate", "--model", model.Path, "--task", "jglue/jsquad", "--data", _work.File("bad")).AssertOneLineError();
        Assert.Contains("valid-v1.1.json: data[0].paragraphs[0].qas[0]: column 'context' is empty", line);
    }

    [Fact]
    public void GlueStsbScoresARegressionModelsOutputs()
    {
        using var model = TempFolder.FromReference("bert-seqcls-regression", "bert-base-cased");
        (string, string, double)[] rows = [("A plane takes off.", "An air plane is taking off.", 5.0), ("A man plays a flute.", "A man plays a guitar.", 1.6),
            ("A cat eats.", "The stock market rose.", 0.0), ("Two dogs run.", "Dogs are running.", 4.2)];
        Write("stsb/dev.tsv", ["index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore",
            .. rows.Select((r, i) => $"{i}\tmain-captions\tMSRvid\t2012test\t{i}\tnone\tnone\t{r.Item1}\t{r.Item2}\t{r.Item3:0.000}")]);
        string output = _work.File("stsb.json");
        var run = CliRunner.Run("", "evaluate", "--model", model.Path, "--task", "glue/stsb", "--data", _work.File("stsb"), "--output", output);
        Assert.True(run.Exit == 0, run.Err);
        using var encoder = EncoderModel.Load(model.Path);
        var classifier = new TextClassifier(encoder);
        double[] predicted = rows.Select(r => classifier.Classify(r.Item1, r.Item2, function: ClassificationFunction.None)[0].Score).ToArray();
        using var json = JsonDocument.Parse(File.ReadAllText(output));
        JsonElement dev = json.RootElement.GetProperty("scores").GetProperty("dev")[0];
        // 1e-5: the command runs the four pairs as one padded batch, this check one at a time; float32 logits differ
        // in their last bits between the two (~1e-7 seen), which a wrong column or output would dwarf.
        Assert.Equal(Pearson(rows.Select(r => r.Item3).ToArray(), predicted), dev.GetProperty("pearson").GetDouble(), 1e-5);
        Assert.Equal(dev.GetProperty("pearson").GetDouble(), dev.GetProperty("main_score").GetDouble());
        Assert.True(dev.TryGetProperty("spearmanr", out _));
    }

    [Fact]
    public void BadInputIsOneLineNamingTheFileAndLine()
    {
        Write("beir/corpus.jsonl", Json(new { _id = "d1", text = "one" }));
        Write("beir/queries.jsonl", Json(new { _id = "q1", text = "first" }));
        Write("beir/qrels/test.tsv", "query-id\tcorpus-id\tscore", "q1\tmissing\t1");
        string line = CliRunner.Run("", "evaluate", "--model", _model.Path, "--task", "retrieval", "--data", _work.File("beir")).AssertOneLineError();
        Assert.Contains("test.tsv: line 2: corpus-id 'missing' is not in corpus.jsonl", line);

        Write("sts.jsonl", Json(new { sentence1 = "a", sentence2 = "b", score = 1 }), Json(new { sentence1 = "a", sentence2 = "b", score = 6 }));
        line = CliRunner.Run("", "evaluate", "--model", _model.Path, "--task", "sts", "--data", _work.File("sts.jsonl")).AssertOneLineError();
        Assert.Contains("sts.jsonl: line 2: score 6 is outside the range 0–5", line);
        var inRange = CliRunner.Run("", "evaluate", "--model", _model.Path, "--task", "sts", "--data", _work.File("sts.jsonl"), "--score-range", "0,10");
        Assert.True(inRange.Exit == 0, inRange.Err);

        line = CliRunner.Run("", "evaluate", "--model", _model.Path, "--task", "glue/nope", "--data", _work.Path).AssertOneLineError();
        Assert.Contains("unknown task 'glue/nope'", line);

        Write("suite.json", Json(new { tasks = new object[] { new { task = "sts", data = "sts.jsonl" }, new { task = "jglue/nope", data = "x" } } }));
        line = CliRunner.Run("", "evaluate", "--model", _model.Path, "--suite", _work.File("suite.json")).AssertOneLineError();
        Assert.Contains("suite.json: tasks[1]: unknown task 'jglue/nope'", line);

        line = CliRunner.Run("", "evaluate", "--model", _model.Path, "--task", "sts", "--data", _work.File("sts.jsonl"), "--finetune").AssertOneLineError();
        Assert.Contains("--finetune: --finetune is for GLUE and JGLUE tasks", line);

        using var model = TempFolder.FromReference("bert-seqcls", "bert-base-cased");
        Write("rte/dev.tsv", "index\tsentence1\tlabel", "0\ta\tentailment");
        line = CliRunner.Run("", "evaluate", "--model", model.Path, "--task", "glue/rte", "--data", _work.File("rte")).AssertOneLineError();
        Assert.Contains("dev.tsv: line 1: the header has no \"sentence2\" column", line);
    }

    static float Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return (float)(dot / Math.Sqrt(na * nb));
    }

    static double[] Ranks(double[] values) => values.Select(v => values.Count(w => w < v) + (values.Count(w => w == v) + 1) / 2.0).ToArray();

    static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        double sxy = x.Zip(y, (a, b) => (a - mx) * (b - my)).Sum();
        return sxy / Math.Sqrt(x.Sum(a => (a - mx) * (a - mx)) * y.Sum(b => (b - my) * (b - my)));
    }
}
