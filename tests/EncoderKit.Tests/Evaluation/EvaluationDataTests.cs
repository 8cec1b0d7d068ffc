using EncoderKit.Evaluation;

namespace EncoderKit.Tests.Evaluation;

/// <summary>The task data layouts: what they read, and bad input failing with the file and its 1-based line.</summary>
public sealed class EvaluationDataTests : IDisposable
{
    readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    string Write(string relative, params string[] lines)
    {
        string path = _folder.File(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
        return path;
    }

    string Beir(params string[] qrels)
    {
        Write("beir/corpus.jsonl", """{"_id": "d1", "title": "Title", "text": "one"}""", """{"_id": "d2", "title": "", "text": " two "}""");
        Write("beir/queries.jsonl", """{"_id": "q1", "text": "first"}""", """{"_id": "q2", "text": "unjudged"}""");
        Write("beir/qrels/test.tsv", ["query-id\tcorpus-id\tscore", .. qrels]);
        return _folder.File("beir");
    }

    [Fact]
    public void BeirFolderJoinsTitleAndTextAndDropsUnjudgedQueries()
    {
        RetrievalData data = EmbeddingTaskData.ReadBeir(Beir("q1\td1\t2", "q1\td2\t0"));
        Assert.Equal(["Title one", "two"], data.Documents);
        Assert.Equal(["q1"], data.QueryIds);
        Assert.Equal(2, data.Judgements["q1"]["d1"]);
        Assert.Equal(0, data.Judgements["q1"]["d2"]);
    }

    [Fact]
    public void QrelsNamingAnUnknownDocumentOrQueryNamesFileAndLine()
    {
        var error = Assert.Throws<EncoderKitException>(() => EmbeddingTaskData.ReadBeir(Beir("q1\td1\t1", "q1\td9\t1")));
        Assert.EndsWith(Path.Combine("qrels", "test.tsv"), error.File);
        Assert.Equal("line 3", error.Field);   // the header is line 1
        Assert.Contains("corpus-id 'd9'", error.Problem);
        error = Assert.Throws<EncoderKitException>(() => EmbeddingTaskData.ReadBeir(Beir("q7\td1\t1")));
        Assert.Equal("line 2", error.Field);
        Assert.Contains("query-id 'q7'", error.Problem);
        error = Assert.Throws<EncoderKitException>(() => EmbeddingTaskData.ReadBeir(Beir("q1 d1 1")));
        Assert.Contains("3 tab-separated columns", error.Problem);
    }

    [Fact]
    public void StsScoreOutsideTheRangeNamesTheLine()
    {
        string file = Write("sts.jsonl", """{"sentence1": "a", "sentence2": "b", "score": 4.5}""", "", """{"sentence1": "a", "sentence2": "c", "score": 7}""");
        var error = Assert.Throws<EncoderKitException>(() => EmbeddingTaskData.ReadSts(file, 0, 5));
        Assert.Equal(file, error.File);
        Assert.Equal("line 3", error.Field);   // blank lines count
        Assert.Contains("outside the range", error.Problem);
        Assert.Equal([4.5, 7], EmbeddingTaskData.ReadSts(file, 0, 10).Scores);
        string missing = Write("sts2.jsonl", """{"sentence1": "a", "score": 1}""");
        Assert.Contains("sentence2", Assert.Throws<EncoderKitException>(() => EmbeddingTaskData.ReadSts(missing, 0, 5)).Problem);
    }

    [Fact]
    public void ClassificationLabelsMapToTheSameIdsInBothFiles()
    {
        Write("cls/train.jsonl", """{"text": "x", "label": "sports"}""", """{"text": "y", "label": "arts"}""");
        Write("cls/test.jsonl", """{"text": "z", "label": "sports"}""");
        var (train, test) = EmbeddingTaskData.ReadClassification(_folder.File("cls"));
        Assert.Equal([1, 0], train.Labels);   // ordinal order: arts 0, sports 1
        Assert.Equal([1], test.Labels);
    }

    [Fact]
    public void ClusteringReadsOneSetOfLinesOrMtebsSetsPerLine()
    {
        string flat = Write("c1.jsonl", """{"text": "a", "label": 3}""", """{"text": "b", "label": 5}""");
        Assert.Single(EmbeddingTaskData.ReadClustering(flat));
        string sets = Write("c2.jsonl", """{"sentences": ["a", "b"], "labels": ["x", "y"]}""", """{"sentences": ["c"], "labels": ["x"]}""");
        Assert.Equal(2, EmbeddingTaskData.ReadClustering(sets).Count);
        string bad = Write("c3.jsonl", """{"sentences": ["a", "b"], "labels": ["x"]}""");
        Assert.Equal("line 1", Assert.Throws<EncoderKitException>(() => EmbeddingTaskData.ReadClustering(bad)).Field);
    }

    [Fact]
    public void GlueTsvReadsColumnsByHeaderAndColaWithoutOne()
    {
        var mnli = BenchmarkTasks.Find("glue/mnli")!;
        string file = Write("mnli/dev_matched.tsv", "index\tpromptID\tsentence1\tsentence2\tlabel1\tgold_label",
            "0\t1\tA man \"quoted\tHe\tneutral\tcontradiction");
        var examples = BenchmarkTasks.Read(mnli, file);
        Assert.Equal("A man \"quoted", examples[0].Text);   // quoting off: the quote is text
        Assert.Equal(2, examples[0].Gold);                   // contradiction is class 2, as the datasets number it
        var cola = BenchmarkTasks.Find("glue/cola")!;
        string colaFile = Write("cola/dev.tsv", "gj04\t1\t\tThe sailors rode the breeze clear of the rocks.", "gj04\t0\t*\tThe more we study verbs.");
        Assert.Equal([1.0, 0.0], BenchmarkTasks.Read(cola, colaFile).Select(e => e.Gold));
    }

    [Fact]
    public void GlueTsvWithAMissingColumnNamesFileAndLine()
    {
        var rte = BenchmarkTasks.Find("glue/rte")!;
        string header = Write("rte/dev.tsv", "index\tsentence1\tlabel", "0\ta\tentailment");
        var error = Assert.Throws<EncoderKitException>(() => BenchmarkTasks.Read(rte, header));
        Assert.Equal("line 1", error.Field);
        Assert.Contains("\"sentence2\"", error.Problem);
        string row = Write("rte/dev2.tsv", "index\tsentence1\tsentence2\tlabel", "0\ta\tb\tentailment", "1\ta\tb");
        error = Assert.Throws<EncoderKitException>(() => BenchmarkTasks.Read(rte, row));
        Assert.Equal("line 3", error.Field);
        string label = Write("rte/dev3.tsv", "index\tsentence1\tsentence2\tlabel", "0\ta\tb\tmaybe");
        Assert.Contains("'maybe'", Assert.Throws<EncoderKitException>(() => BenchmarkTasks.Read(rte, label)).Problem);
    }

    [Fact]
    public async Task JglueJsonLinesAndJsquadsSquadLayout()
    {
        Write("jnli/valid-v1.1.json", """{"sentence_pair_id": "0", "sentence1": "犬が走る", "sentence2": "動物が動く", "label": "entailment"}""",
            """{"sentence_pair_id": "1", "sentence1": "a", "sentence2": "b", "label": "neutral"}""");
        var jnli = BenchmarkTasks.Find("jglue/jnli")!;
        var (split, file) = BenchmarkTasks.SplitFiles(jnli, _folder.File("jnli"), "valid").Single();
        Assert.Equal("valid", split);
        Assert.Equal([0.0, 2.0], BenchmarkTasks.Read(jnli, file).Select(e => e.Gold));   // JGLUE: entailment 0, contradiction 1, neutral 2

        // JSQuAD: SQuAD v1.1 JSON, one question per qas entry, every gold answer kept.
        var jsquad = BenchmarkTasks.Find("jglue/jsquad")!;
        Write("jsquad/valid-v1.1.json", """
            {"version": "v1.1", "data": [{"title": "富士山", "paragraphs": [{"context": "富士山 [SEP] 富士山は標高3776メートルの山。",
              "qas": [{"id": "a", "question": "標高は？", "answers": [{"text": "3776メートル", "answer_start": 13}, {"text": "3776", "answer_start": 13}], "is_impossible": false},
                      {"id": "b", "question": "何の山？", "answers": [{"text": "富士山", "answer_start": 0}], "is_impossible": false}]}]}]}
            """);
        (_, file) = BenchmarkTasks.SplitFiles(jsquad, _folder.File("jsquad"), "valid").Single();
        var questions = await BenchmarkTasks.ReadQuestionsAsync(file);
        Assert.Equal(["標高は？", "何の山？"], questions.Select(q => q.Question.Question));
        Assert.Equal("富士山 [SEP] 富士山は標高3776メートルの山。", questions[0].Question.Context);
        Assert.Equal(["3776メートル", "3776"], questions[0].Answers);
        string bad = Write("jsquad-bad.json", """{"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": [{"text": 5}]}]}]}]}""");
        var error = await Assert.ThrowsAsync<EncoderKitException>(() => BenchmarkTasks.ReadQuestionsAsync(bad));
        Assert.Equal("data[0].paragraphs[0].qas[0]", error.Field);
        Assert.Contains("answers.text[0]", error.Problem);
    }

    [Fact]
    public void BenchmarkScoresUseTheGlueMetricNames()
    {
        var cola = BenchmarkTasks.Find("glue/cola")!;
        // Never predicting class 0: Matthews correlation is 0 by convention, not NaN.
        Assert.Equal(0, BenchmarkTasks.Score(cola, [0, 1, 1, 0], [1, 1, 1, 1])["matthews_correlation"]);
        var mrpc = BenchmarkTasks.Find("glue/mrpc")!;
        var scores = BenchmarkTasks.Score(mrpc, [1, 0, 1, 1], [1, 0, 0, 1]);
        Assert.Equal(0.75, scores["accuracy"], 1e-12);
        Assert.Equal(0.8, scores["f1"], 1e-12);   // tp 2, fn 1: 4/5
        var stsb = BenchmarkTasks.Find("glue/stsb")!;
        Assert.Equal(["pearson", "spearmanr"], BenchmarkTasks.Score(stsb, [1, 2, 3], [1, 2, 4]).Keys.Order());
    }
}
