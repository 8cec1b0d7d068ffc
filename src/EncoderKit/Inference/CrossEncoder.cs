using System.Text.Json.Nodes;
using EncoderKit.Runtime;
using Microsoft.Extensions.Logging;

namespace EncoderKit.Inference;

/// <param name="Index">The document's position in the list given.</param>
/// <param name="Score">Its relevance to the query: the activation of the model's one logit, or the logit itself when raw.</param>
public sealed record RankedDocument(int Index, double Score);

/// <summary>
/// A reranker as sentence-transformers' <c>CrossEncoder</c> reads one: a sequence-classification model with one label
/// scores each (query, document) pair, encoded as a text pair and truncated (longest first) to the model's limit with
/// a warning; the logit goes through the model's activation, and documents are ranked best first.
/// </summary>
/// <remarks>
/// The activation is the one config.json names: <c>sentence_transformers.activation_fn</c> (sentence-transformers 4),
/// or <c>sbert_ce_default_activation_function</c> (earlier versions); sigmoid when it names none, as a one-label
/// CrossEncoder defaults to.
/// </remarks>
public sealed class CrossEncoder : IDisposable
{
    readonly EncoderModel model;
    readonly TextClassifier classifier;
    bool ownsModel;

    /// <param name="runner">Where the forward pass runs; <see cref="BatchRunner.Shared"/> when null.</param>
    public CrossEncoder(EncoderModel model, ILogger? logger = null, BatchRunner? runner = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        classifier = new TextClassifier(model, logger, runner);
        if (classifier.Labels.Count != 1)
            throw new EncoderKitException(ErrorKind.BadInput, $"a cross-encoder scores with one label, and this classifier has {classifier.Labels.Count}", model.Folder, "num_labels");
        Activation = ActivationOf(model);
    }

    /// <summary>Loads <paramref name="model"/> (a folder or hub id, fetched into the Hugging Face cache when needed) for this pipeline, which then owns it: disposing the pipeline frees the model.</summary>
    public static Task<CrossEncoder> LoadAsync(string model, EncoderModelOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default) =>
        PipelineModel.LoadAsync(model, options, loaded => new CrossEncoder(loaded, logger) { ownsModel = true }, cancellationToken);

    /// <summary>Frees the model when the pipeline loaded it (<see cref="LoadAsync"/>); a model passed in stays the caller's.</summary>
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }

    /// <summary>What turns the logit into a score unless raw scores are asked for: sigmoid or none.</summary>
    public ClassificationFunction Activation { get; }

    static ClassificationFunction ActivationOf(EncoderModel model)
    {
        var (key, node) = model.Config.Root["sentence_transformers"] is JsonObject st && st["activation_fn"] is { } modern
            ? ("sentence_transformers.activation_fn", modern)
            : ("sbert_ce_default_activation_function", model.Config.Root["sbert_ce_default_activation_function"]);
        if (node is null) return ClassificationFunction.Sigmoid;
        string? name = node is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        return name?.Split('.')[^1] switch
        {
            "Sigmoid" => ClassificationFunction.Sigmoid,
            "Identity" => ClassificationFunction.None,
            _ => throw model.Config.Invalid(key, $"is {node.ToJsonString()}; a cross-encoder here applies torch.nn.Sigmoid or torch.nn.Identity"),
        };
    }

    public IReadOnlyList<RankedDocument> Rank(string query, IReadOnlyList<string> documents, int? topK = null, bool rawScores = false) =>
        RankAsync(query, documents, topK, rawScores).GetAwaiter().GetResult();

    /// <summary>Every document scored against the query; best first (equal scores in document order), cut to top-k.</summary>
    public async Task<IReadOnlyList<RankedDocument>> RankAsync(string query, IReadOnlyList<string> documents, int? topK = null, bool rawScores = false,
        BatchLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(documents);
        if (topK < 1) throw new EncoderKitException(ErrorKind.BadInput, $"top-k must be at least 1, got {topK}", field: "top_k");
        double[] scores = await ScoreAsync([.. documents.Select(d => (query, d))], rawScores, limits, cancellationToken).ConfigureAwait(false);
        return [.. scores.Select((score, index) => new RankedDocument(index, score)).OrderByDescending(d => d.Score).Take(topK ?? scores.Length)];
    }

    /// <summary>Each pair's score, in input order.</summary>
    public async Task<double[]> ScoreAsync(IReadOnlyList<(string Query, string Document)> pairs, bool rawScores = false, BatchLimits? limits = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var rows = classifier.Tokenized([.. pairs.Select(p => new TextToClassify(p.Query, p.Document ?? throw new ArgumentNullException(nameof(pairs), "a document is null")))],
            OverlongInput.Truncate);
        float[][] scores = await classifier.ScoresAsync(rows, rawScores ? ClassificationFunction.None : Activation, limits, cancellationToken).ConfigureAwait(false);
        return [.. scores.Select(s => (double)s[0])];
    }
}
