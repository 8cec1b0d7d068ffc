using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using EncoderKit.Runtime;
using EncoderKit.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EncoderKit.Inference;

/// <summary>
/// Token classification (named entities, parts of speech) as the Hugging Face <c>token-classification</c> pipeline
/// answers it: each token's label probabilities by softmax, then entities by the aggregation strategy
/// (<see cref="TokenEntityGrouping"/>), with character offsets into the original text, leaving out ignored labels.
/// </summary>
/// <remarks>
/// A text longer than the model takes is never cut silently: without a stride it is an error; with one it is read
/// in windows of the model's length overlapping by that many tokens, and the windows' entities are merged as the
/// pipeline merges them (which, as there, needs an aggregation strategy other than none).
/// </remarks>
public sealed class TokenClassifier : IDisposable
{
    readonly EncoderModel model;
    readonly TokenClassifierSpec head;
    readonly ILogger log;
    readonly BatchRunner? runner;
    bool ownsModel;

    /// <param name="runner">Where the forward pass runs; <see cref="BatchRunner.Shared"/> when null.</param>
    public TokenClassifier(EncoderModel model, ILogger? logger = null, BatchRunner? runner = null)
    {
        this.model = model;
        head = PipelineModel.Head<TokenClassifierSpec>(model, "token-classification head", "tag tokens");
        log = logger ?? NullLogger.Instance;
        this.runner = runner;
    }

    /// <summary>Loads <paramref name="model"/> (a folder or hub id, fetched into the Hugging Face cache when needed) for this pipeline, which then owns it: disposing the pipeline frees the model.</summary>
    public static Task<TokenClassifier> LoadAsync(string model, EncoderModelOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default) =>
        PipelineModel.LoadAsync(model, options, loaded => new TokenClassifier(loaded, logger) { ownsModel = true }, cancellationToken);

    /// <summary>Frees the model when the pipeline loaded it (<see cref="LoadAsync"/>); a model passed in stays the caller's.</summary>
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }

    /// <summary>The pipeline's default <c>ignore_labels</c>.</summary>
    public static IReadOnlyList<string> DefaultIgnoreLabels { get; } = ["O"];

    /// <summary>Label names in id order.</summary>
    public IReadOnlyList<string> Labels => head.LabelNames;

    /// <param name="ignoreLabels">Labels (or entity groups) left out; null for <see cref="DefaultIgnoreLabels"/>.</param>
    /// <param name="stride">Tokens shared by consecutive windows of a text longer than the model takes; null: such a text is an error.</param>
    public IReadOnlyList<TokenEntity> Tag(string text, AggregationStrategy aggregation = AggregationStrategy.None, IReadOnlyCollection<string>? ignoreLabels = null, int? stride = null) =>
        TagAsync([text], aggregation, ignoreLabels, stride).GetAwaiter().GetResult()[0];

    /// <summary>Tokenizes on the caller's thread, runs every text (or window) in length-sorted batches on the runner.</summary>
    /// <returns>One entity list per text, in input order, entities in text order.</returns>
    public async Task<IReadOnlyList<TokenEntity>[]> TagAsync(IReadOnlyList<string> texts, AggregationStrategy aggregation = AggregationStrategy.None,
        IReadOnlyCollection<string>? ignoreLabels = null, int? stride = null, BatchLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (stride is < 0) throw new EncoderKitException(ErrorKind.BadInput, $"the stride must not be negative, got {stride}", field: "stride");
        // As the pipeline: a stride asks for windows, whose entities are merged, which needs entities beyond single tokens.
        if (stride is not null && aggregation == AggregationStrategy.None)
            throw new EncoderKitException(ErrorKind.BadInput, "tagging in overlapping windows merges entities, which needs an aggregation strategy other than none", field: "aggregation_strategy");
        ignoreLabels ??= DefaultIgnoreLabels;
        Encoding[][] windows = [.. texts.Select(text => Windows(text, stride))];
        List<TokenizedText> rows = [.. windows.SelectMany(w => w).Select(e => new TokenizedText(e.Ids, e.TypeIds))];
        float[][] logits = await (runner ?? BatchRunner.Shared).RunAsync(rows, limits ?? new BatchLimits(), PipelineModel.PadId(model),
            batch => PipelineModel.RealPositions(PipelineModel.Forward(model, batch, Outputs.TokenLogits).TokenLogits!, batch),
            cancellationToken: cancellationToken).ConfigureAwait(false);

        Tokenizer tokenizer = model.Tokenizer;
        var results = new IReadOnlyList<TokenEntity>[texts.Count];
        int row = 0;
        for (int t = 0; t < texts.Count; t++)
        {
            var found = new List<TokenEntity>();
            foreach (Encoding window in windows[t])
            {
                List<ScoredToken> tokens = Scored(texts[t], window, logits[row++]);
                found.AddRange(TokenEntityGrouping.WithoutIgnored(TokenEntityGrouping.Aggregate(tokens, Labels, aggregation, tokenizer.TokensToString), ignoreLabels));
            }
            results[t] = windows[t].Length > 1 ? TokenEntityGrouping.MergeOverlapping(found) : found;
        }
        return results;
    }

    /// <summary>The text's encoding, or its overlapping windows when it is longer than the model takes and a stride is given.</summary>
    Encoding[] Windows(string text, int? stride)
    {
        ArgumentNullException.ThrowIfNull(text);
        Encoding full = model.Tokenizer.Encode(text);
        if (model.MaxInputTokens is not int limit || full.Length <= limit) return [full];
        if (stride is null)
            throw new EncoderKitException(ErrorKind.BadInput, $"the text is {full.Length} tokens, more than the model's {limit}; give a stride to tag it in overlapping windows", field: "text");
        Encoding first = model.Tokenizer.Encode(text, null, new EncodeOptions { MaxLength = limit, Stride = stride.Value });
        log.LogInformation("The text is {Tokens} tokens; it was read in {Windows} windows of {Limit} overlapping by {Stride}.", full.Length, first.Overflowing.Count + 1, limit, stride);
        return [first, .. first.Overflowing];
    }

    /// <summary>The window's tokens without the special ones, each with its label probabilities and word boundary.</summary>
    List<ScoredToken> Scored(string text, Encoding window, float[] logits)
    {
        Tokenizer tokenizer = model.Tokenizer;
        bool wordAware = tokenizer.ContinuingSubwordPrefix is not null;
        int labels = Labels.Count;
        var tokens = new List<ScoredToken>(window.Length);
        for (int i = 0; i < window.Length; i++)
        {
            if (window.SpecialTokensMask[i] == 1) continue;
            var (start, end) = window.Offsets[i];
            double[] scores = Probabilities.Softmax(logits.AsSpan(i * labels, labels));
            // As the pipeline: an unknown token shows the text it stands for, and starts a word.
            tokens.Add(window.Ids[i] == tokenizer.UnkTokenId
                ? new ScoredToken(i, text[start..end], scores, start, end, IsSubword: false)
                : new ScoredToken(i, window.Tokens[i], scores, start, end, TokenEntityGrouping.IsSubword(text, window.Tokens[i], start, end, wordAware)));
        }
        return tokens;
    }
}
