using System.Diagnostics;
using EncoderKit.SentenceEmbeddings;

namespace EncoderKit.Evaluation;

/// <summary>The embedding task types, as MTEB names them.</summary>
public enum EmbeddingTaskType { Retrieval, Sts, PairClassification, Classification, Clustering, Reranking, Summarization }

/// <summary>How <see cref="EmbeddingTaskEvaluator"/> embeds and scores.</summary>
public sealed record EmbeddingEvaluationOptions
{
    /// <summary>Prompt for retrieval queries: one of the model's prompt names, or literal text; null for the model's "query" prompt.</summary>
    public string? QueryPrompt { get; init; }

    /// <summary>Prompt for retrieval documents: a prompt name or literal text; null for the model's document prompt.</summary>
    public string? DocumentPrompt { get; init; }

    /// <summary>Prompt for every other task type: a prompt name or literal text; null for none.</summary>
    public string? Prompt { get; init; }

    /// <summary>Matryoshka width; null for the encoder's.</summary>
    public int? Dimensions { get; init; }

    public int? BatchSize { get; init; }

    /// <summary>The split scored: qrels/&lt;split&gt;.tsv for retrieval, &lt;split&gt;.jsonl for classification.</summary>
    public string Split { get; init; } = "test";

    /// <summary>The range gold STS scores must lie in; MTEB's STS sets use 0–5.</summary>
    public (double Min, double Max) StsScoreRange { get; init; } = (0, 5);

    public int Experiments { get; init; } = 10;
    public int SamplesPerLabel { get; init; } = 8;
}

/// <summary>
/// Runs an embedding task on a data set in MTEB's layout (see <see cref="EmbeddingTaskData"/>) with a sentence
/// encoder: embeds each distinct text once (through a <see cref="TextEmbeddingCache"/> when given), then scores with
/// the task type's metric as MTEB computes it.
/// </summary>
public sealed class EmbeddingTaskEvaluator(SentenceEncoder encoder, TextEmbeddingCache? cache = null)
{
    /// <summary>Wraps each embedding pass (title, how many texts, the pass itself taking a progress sink): a CLI draws a bar.</summary>
    public Func<string, int, Func<IProgress<int>?, float[][]>, float[][]>? ShowProgress { get; init; }

    /// <summary>MTEB's main score of each task type.</summary>
    public static string MainScore(EmbeddingTaskType type) => type switch
    {
        EmbeddingTaskType.Retrieval => "ndcg_at_10",
        EmbeddingTaskType.Sts or EmbeddingTaskType.Summarization => "cosine_spearman",
        EmbeddingTaskType.PairClassification => "max_ap",
        EmbeddingTaskType.Classification => "accuracy",
        EmbeddingTaskType.Clustering => "v_measure",
        EmbeddingTaskType.Reranking => "map",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>MTEB's name of each task type (its task_type and leaderboard column).</summary>
    public static string TypeName(EmbeddingTaskType type) => type switch
    {
        EmbeddingTaskType.Sts => "STS",
        EmbeddingTaskType.PairClassification => "PairClassification",
        _ => type.ToString(),
    };

    public TaskResult Evaluate(EmbeddingTaskType type, string data, string taskName, IReadOnlyList<string>? languages = null,
        EmbeddingEvaluationOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new EmbeddingEvaluationOptions();
        var clock = Stopwatch.StartNew();
        var embed = new EmbedOptions { TruncateDim = options.Dimensions, BatchSize = options.BatchSize };
        string? general = Resolve(options.Prompt, null);
        float[][] Embed(string title, IReadOnlyList<string> texts, string? prompt) => EmbedDistinct(title, texts, prompt, embed, cancellationToken);
        Dictionary<string, double> metrics;
        switch (type)
        {
            case EmbeddingTaskType.Retrieval:
            {
                RetrievalData set = EmbeddingTaskData.ReadBeir(data, options.Split);
                float[][] documents = Embed("embedding the corpus", set.Documents, Resolve(options.DocumentPrompt, encoder.DocumentPromptName));
                float[][] queries = Embed("embedding the queries", set.Queries, Resolve(options.QueryPrompt, encoder.QueryPromptName));
                SearchHit[][] hits = StreamingExactSearch.TopK(queries, documents, RetrievalMetrics.DefaultCutoffs.Max(), encoder.SimilarityFunction, cancellationToken: cancellationToken);
                var run = new Dictionary<string, IReadOnlyList<ScoredDocument>>(StringComparer.Ordinal);
                for (int q = 0; q < hits.Length; q++)
                    run[set.QueryIds[q]] = hits[q].Select(h => new ScoredDocument(set.DocumentIds[h.Index], h.Score)).ToArray();
                metrics = RetrievalMetrics.Evaluate(set.Judgements, run);
                break;
            }
            case EmbeddingTaskType.Sts:
            {
                PairData set = EmbeddingTaskData.ReadSts(data, options.StsScoreRange.Min, options.StsScoreRange.Max);
                metrics = StsMetrics.Evaluate(Embed("embedding sentence1", set.First, general), Embed("embedding sentence2", set.Second, general), set.Scores);
                break;
            }
            case EmbeddingTaskType.PairClassification:
            {
                PairData set = EmbeddingTaskData.ReadPairClassification(data);
                metrics = PairClassificationMetrics.Evaluate(Embed("embedding sentence1", set.First, general), Embed("embedding sentence2", set.Second, general),
                    set.Scores.Select(s => (int)s).ToArray());
                break;
            }
            case EmbeddingTaskType.Classification:
            {
                var (train, test) = EmbeddingTaskData.ReadClassification(data, options.Split);
                var protocol = new EmbeddingClassification { Experiments = options.Experiments, SamplesPerLabel = options.SamplesPerLabel };
                metrics = protocol.Evaluate(Embed("embedding the training texts", train.Texts, general), train.Labels, Embed("embedding the test texts", test.Texts, general), test.Labels);
                break;
            }
            case EmbeddingTaskType.Clustering:
            {
                var measures = new List<double>();
                foreach (LabelledTexts set in EmbeddingTaskData.ReadClustering(data))
                {
                    float[][] vectors = Embed("embedding the texts", set.Texts, general);
                    int[] clusters = new MiniBatchKMeans().FitPredict(vectors, set.Labels.Distinct().Count());
                    measures.Add(ClusteringMetrics.VMeasure(set.Labels.ToArray(), clusters).VMeasure);
                }
                double mean = measures.Average();
                // np.std: the population standard deviation.
                metrics = new() { ["v_measure"] = mean, ["v_measure_std"] = Math.Sqrt(measures.Average(v => (v - mean) * (v - mean))) };
                break;
            }
            case EmbeddingTaskType.Reranking:
            {
                IReadOnlyList<RerankingItem> items = EmbeddingTaskData.ReadReranking(data);
                float[][] queries = Embed("embedding the queries", items.Select(i => i.Query).ToArray(), general);
                string[] candidates = items.SelectMany(i => i.Positive.Concat(i.Negative)).ToArray();
                float[][] vectors = Embed("embedding the candidates", candidates, general);
                var instances = new List<(bool[], double[])>();
                int offset = 0;
                for (int q = 0; q < items.Count; q++)
                {
                    int count = items[q].Positive.Count + items[q].Negative.Count;
                    float[][] mine = vectors[offset..(offset + count)];
                    offset += count;
                    double[] similarities = encoder.Similarity([queries[q]], mine)[0].Select(s => (double)s).ToArray();
                    instances.Add((Enumerable.Range(0, count).Select(i => i < items[q].Positive.Count).ToArray(), similarities));
                }
                metrics = RerankingMetrics.Evaluate(instances);
                break;
            }
            case EmbeddingTaskType.Summarization:
            {
                IReadOnlyList<SummarizationTexts> texts = EmbeddingTaskData.ReadSummarization(data);
                float[][] machine = Embed("embedding machine summaries", texts.SelectMany(t => t.MachineSummaries).ToArray(), general);
                float[][] human = Embed("embedding human summaries", texts.SelectMany(t => t.HumanSummaries).ToArray(), general);
                var items = new List<SummarizationItem>();
                int m = 0, h = 0;
                foreach (SummarizationTexts t in texts)
                {
                    items.Add(new SummarizationItem(machine[m..(m + t.MachineSummaries.Count)], t.Relevance, human[h..(h + t.HumanSummaries.Count)]));
                    m += t.MachineSummaries.Count;
                    h += t.HumanSummaries.Count;
                }
                metrics = SummarizationMetrics.Evaluate(items);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
        var scores = new Dictionary<string, SplitScores> { [options.Split] = new SplitScores(MainScore(type), metrics) };
        return new TaskResult(taskName, TypeName(type), scores, languages ?? [], clock.Elapsed.TotalSeconds, encoder.ModelId, null);
    }

    /// <summary>A prompt option: one of the model's prompt names gives that prompt's text; anything else is the text itself.</summary>
    string? Resolve(string? given, string? defaultName)
    {
        if (given is not null) return encoder.Prompts.TryGetValue(given, out string? named) ? named : given;
        return defaultName is not null ? encoder.Prompts[defaultName] : null;
    }

    /// <summary>Embeds each distinct text once; duplicates share the vector.</summary>
    float[][] EmbedDistinct(string title, IReadOnlyList<string> texts, string? prompt, EmbedOptions options, CancellationToken cancellationToken)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var distinct = new List<string>();
        int[] slot = new int[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            if (!index.TryGetValue(texts[i], out int at)) index[texts[i]] = at = distinct.Count;
            if (at == distinct.Count) distinct.Add(texts[i]);
            slot[i] = at;
        }
        float[][] Run(IProgress<int>? progress)
        {
            var withProgress = options with { Progress = progress };
            // An empty literal prompt, not null: null would let the model's default prompt in.
            return cache is null ? encoder.Encode(distinct, null, prompt ?? "", withProgress, cancellationToken)
                : cache.GetOrEmbed(encoder, distinct, prompt, withProgress, cancellationToken);
        }
        float[][] vectors = ShowProgress is null ? Run(null) : ShowProgress(title, distinct.Count, Run);
        return slot.Select(i => vectors[i]).ToArray();
    }
}
