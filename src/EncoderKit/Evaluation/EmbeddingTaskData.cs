using EncoderKit.IO;

namespace EncoderKit.Evaluation;

/// <summary>A BEIR retrieval set: documents, the judged queries, and their relevance judgements.</summary>
public sealed record RetrievalData(IReadOnlyList<string> DocumentIds, IReadOnlyList<string> Documents, IReadOnlyList<string> QueryIds,
    IReadOnlyList<string> Queries, IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Judgements);

/// <summary>Sentence pairs with a gold similarity score (STS) or a 0/1 label (pair classification).</summary>
public sealed record PairData(IReadOnlyList<string> First, IReadOnlyList<string> Second, IReadOnlyList<double> Scores);

/// <summary>Texts with class ids.</summary>
public sealed record LabelledTexts(IReadOnlyList<string> Texts, IReadOnlyList<int> Labels);

/// <summary>One reranking query with its positive and negative documents.</summary>
public sealed record RerankingItem(string Query, IReadOnlyList<string> Positive, IReadOnlyList<string> Negative);

/// <summary>One SummEval text: machine summaries, their human relevance scores, and the human (reference) summaries.</summary>
public sealed record SummarizationTexts(IReadOnlyList<string> MachineSummaries, IReadOnlyList<double> Relevance, IReadOnlyList<string> HumanSummaries);

/// <summary>
/// Readers for the layouts MTEB's own data sets use, each error naming the file and its 1-based line (a TSV header
/// is line 1).
/// </summary>
public static class EmbeddingTaskData
{
    /// <summary>
    /// A BEIR folder: corpus.jsonl ({_id, title, text}), queries.jsonl ({_id, text}) and qrels/&lt;split&gt;.tsv
    /// (header, then query-id, corpus-id, score). A document's text is title + " " + text, stripped, as MTEB's exact
    /// search builds it. Queries without judgements are left out, as MTEB filters them; a judgement naming a query or
    /// document the files do not hold is an error.
    /// </summary>
    public static RetrievalData ReadBeir(string folder, string split = "test")
    {
        if (!Directory.Exists(folder)) throw new EncoderKitException(ErrorKind.MissingFile, "no such folder (a BEIR folder with corpus.jsonl, queries.jsonl and qrels/)", folder);
        var documentIds = new List<string>();
        var documents = new List<string>();
        var documentLines = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in TaskRecords.Read(Path.Combine(folder, "corpus.jsonl")))
        {
            string id = line.String("_id");
            if (!documentLines.TryAdd(id, line.Number)) throw line.Error($"document id '{id}' was already used on line {documentLines[id]}");
            string? title = line.OptionalString("title");
            string text = line.String("text");
            documentIds.Add(id);
            documents.Add(string.IsNullOrEmpty(title) ? text.Trim() : (title + " " + text).Trim());
        }
        var queryTexts = new Dictionary<string, string>(StringComparer.Ordinal);
        var queryOrder = new List<string>();
        foreach (var line in TaskRecords.Read(Path.Combine(folder, "queries.jsonl")))
        {
            string id = line.String("_id");
            if (!queryTexts.TryAdd(id, line.String("text"))) throw line.Error($"query id '{id}' is used twice");
            queryOrder.Add(id);
        }
        string qrels = Path.Combine(folder, "qrels", split + ".tsv");
        var judgements = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        string[] rows = UserFile.Read(qrels, () => File.ReadAllLines(qrels));
        for (int i = 1; i < rows.Length; i++)   // row 0 is the header
        {
            if (rows[i].Trim().Length == 0) continue;
            string where = $"line {i + 1}";
            string[] cells = rows[i].Split('\t');
            if (cells.Length < 3) throw new EncoderKitException(ErrorKind.BadInput, $"expected 3 tab-separated columns (query-id, corpus-id, score), got {cells.Length}", qrels, where);
            string query = cells[0], document = cells[1];
            if (!int.TryParse(cells[2], System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int score))
                throw new EncoderKitException(ErrorKind.BadInput, $"score '{cells[2]}' is not an integer", qrels, where);
            if (!queryTexts.ContainsKey(query)) throw new EncoderKitException(ErrorKind.BadInput, $"query-id '{query}' is not in queries.jsonl", qrels, where);
            if (!documentLines.ContainsKey(document)) throw new EncoderKitException(ErrorKind.BadInput, $"corpus-id '{document}' is not in corpus.jsonl", qrels, where);
            if (!judgements.TryGetValue(query, out var judged)) judgements[query] = judged = new Dictionary<string, int>(StringComparer.Ordinal);
            judged[document] = score;
        }
        if (judgements.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "holds no judgements", qrels);
        string[] judgedQueries = queryOrder.Where(judgements.ContainsKey).ToArray();
        return new RetrievalData(documentIds, documents, judgedQueries, judgedQueries.Select(q => queryTexts[q]).ToArray(),
            judgements.ToDictionary(p => p.Key, p => (IReadOnlyDictionary<string, int>)p.Value, StringComparer.Ordinal));
    }

    /// <summary>STS JSONL {sentence1, sentence2, score}; a score outside [min, max] is an error naming its line.</summary>
    public static PairData ReadSts(string file, double minScore, double maxScore) => ReadPairs(file, line =>
    {
        double score = line.Float("score");
        return score >= minScore && score <= maxScore ? score
            : throw line.Error($"score {score} is outside the range {minScore}–{maxScore} (set the range with --score-range MIN,MAX)");
    });

    /// <summary>Pair classification JSONL {sentence1, sentence2, label} with label 0 or 1.</summary>
    public static PairData ReadPairClassification(string file) => ReadPairs(file, line => line.Label("label") switch
    {
        "0" => 0,
        "1" => 1,
        string other => throw line.Error($"label must be 0 or 1, got '{other}'"),
    });

    static PairData ReadPairs(string file, Func<TaskRecords.Line, double> value)
    {
        var records = TaskRecords.Read(file);
        return new PairData(records.Select(l => l.String("sentence1")).ToArray(), records.Select(l => l.String("sentence2")).ToArray(), records.Select(value).ToArray());
    }

    /// <summary>
    /// A classification folder's train.jsonl and test.jsonl of {text, label}; labels may be integers or strings, mapped
    /// to the same ids in both files.
    /// </summary>
    public static (LabelledTexts Train, LabelledTexts Test) ReadClassification(string folder, string split = "test")
    {
        if (!Directory.Exists(folder)) throw new EncoderKitException(ErrorKind.MissingFile, "no such folder (a folder with train.jsonl and test.jsonl)", folder);
        var train = TextsAndLabels(Path.Combine(folder, "train.jsonl"), "text", "label");
        var test = TextsAndLabels(Path.Combine(folder, split + ".jsonl"), "text", "label");
        var ids = TaskRecords.LabelIds(train.Labels.Concat(test.Labels));
        return (new LabelledTexts(train.Texts, train.Labels.Select(l => ids[l]).ToArray()), new LabelledTexts(test.Texts, test.Labels.Select(l => ids[l]).ToArray()));
    }

    /// <summary>
    /// Clustering JSONL: lines of {text, label} make one set; lines of {sentences: [...], labels: [...]} (MTEB's own
    /// clustering sets) are one set each.
    /// </summary>
    public static IReadOnlyList<LabelledTexts> ReadClustering(string file)
    {
        var records = TaskRecords.Read(file);
        if (records[0].Object.ContainsKey("sentences"))
        {
            var sets = new List<LabelledTexts>();
            foreach (var line in records)
            {
                string[] texts = line.Strings("sentences");
                var labelNodes = line.Required("labels") as System.Text.Json.Nodes.JsonArray ?? throw line.Error("\"labels\" must be a list");
                if (labelNodes.Count != texts.Length) throw line.Error($"{texts.Length} sentences but {labelNodes.Count} labels");
                string[] labels = labelNodes.Select(n => n?.ToJsonString().Trim('"') ?? throw line.Error("a label is null")).ToArray();
                var ids = TaskRecords.LabelIds(labels);
                sets.Add(new LabelledTexts(texts, labels.Select(l => ids[l]).ToArray()));
            }
            return sets;
        }
        var (textList, labelList) = TextsAndLabels(file, "text", "label", records);
        var map = TaskRecords.LabelIds(labelList);
        return [new LabelledTexts(textList, labelList.Select(l => map[l]).ToArray())];
    }

    /// <summary>Reranking JSONL {query, positive: [...], negative: [...]}, as MTEB's reranking sets.</summary>
    public static IReadOnlyList<RerankingItem> ReadReranking(string file) =>
        TaskRecords.Read(file).Select(line => new RerankingItem(line.String("query"), line.Strings("positive"), line.Strings("negative"))).ToArray();

    /// <summary>SummEval JSONL {machine_summaries: [...], human_summaries: [...], relevance: [...]} (MTEB's SummEval layout).</summary>
    public static IReadOnlyList<SummarizationTexts> ReadSummarization(string file) => TaskRecords.Read(file).Select(line =>
    {
        string[] machine = line.Strings("machine_summaries");
        double[] relevance = line.Numbers("relevance");
        if (machine.Length != relevance.Length) throw line.Error($"{machine.Length} machine summaries but {relevance.Length} relevance scores");
        string[] human = line.Strings("human_summaries");
        if (human.Length == 0) throw line.Error("no human summaries to compare with");
        return new SummarizationTexts(machine, relevance, human);
    }).ToArray();

    static (List<string> Texts, List<string> Labels) TextsAndLabels(string file, string textField, string labelField, List<TaskRecords.Line>? records = null)
    {
        var texts = new List<string>();
        var labels = new List<string>();
        foreach (var line in records ?? TaskRecords.Read(file))
        {
            texts.Add(line.String(textField));
            labels.Add(line.Label(labelField));
        }
        return (texts, labels);
    }
}
