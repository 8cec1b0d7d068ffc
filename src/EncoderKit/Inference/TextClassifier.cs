using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using EncoderKit.Runtime;
using EncoderKit.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace EncoderKit.Inference;

/// <summary>What turns a classifier's logits into scores, as the pipeline's <c>function_to_apply</c>.</summary>
public enum ClassificationFunction { Softmax, Sigmoid, None }

/// <param name="Label">The label's name from id2label.</param>
/// <param name="Score">The label's logit after the classification function.</param>
public sealed record LabelScore(string Label, double Score);

/// <summary>One text to classify, with its partner for pair classification (NLI, similarity, …).</summary>
public sealed record TextToClassify(string Text, string? Pair = null);

/// <summary>
/// Text classification as the Hugging Face <c>text-classification</c> pipeline answers it: the sequence classifier's
/// logits through softmax, sigmoid or nothing, each label named by id2label, sorted by score and cut to top-k.
/// </summary>
public sealed class TextClassifier : IDisposable
{
    readonly EncoderModel model;
    readonly ClassifierSpec head;
    readonly ILogger log;
    readonly BatchRunner? runner;
    bool ownsModel;

    /// <param name="runner">Where the forward pass runs; <see cref="BatchRunner.Shared"/> when null.</param>
    public TextClassifier(EncoderModel model, ILogger? logger = null, BatchRunner? runner = null)
    {
        this.model = model;
        head = PipelineModel.Head<ClassifierSpec>(model, "sequence-classification head", "classify texts");
        log = logger ?? NullLogger.Instance;
        this.runner = runner;
    }

    /// <summary>Loads <paramref name="model"/> (a folder or hub id, fetched into the Hugging Face cache when needed) for this pipeline, which then owns it: disposing the pipeline frees the model.</summary>
    public static Task<TextClassifier> LoadAsync(string model, EncoderModelOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default) =>
        PipelineModel.LoadAsync(model, options, loaded => new TextClassifier(loaded, logger) { ownsModel = true }, cancellationToken);

    /// <summary>Frees the model when the pipeline loaded it (<see cref="LoadAsync"/>); a model passed in stays the caller's.</summary>
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }

    /// <summary>Label names in id order.</summary>
    public IReadOnlyList<string> Labels => head.LabelNames;

    /// <summary>
    /// The pipeline's default: none for regression, sigmoid for multi-label or one-label models, softmax otherwise.
    /// </summary>
    public ClassificationFunction DefaultFunction => head.Problem switch
    {
        ProblemType.Regression => ClassificationFunction.None,
        ProblemType.MultiLabel => ClassificationFunction.Sigmoid,
        _ when head.Labels == 1 => ClassificationFunction.Sigmoid,
        _ => ClassificationFunction.Softmax,
    };

    /// <param name="topK">How many labels, best first; null for all of them.</param>
    /// <param name="function">Null for <see cref="DefaultFunction"/>.</param>
    public IReadOnlyList<LabelScore> Classify(string text, string? pair = null, int? topK = 1, ClassificationFunction? function = null) =>
        ClassifyAsync([new TextToClassify(text, pair)], topK, function).GetAwaiter().GetResult()[0];

    /// <summary>Tokenizes on the caller's thread, runs the inputs in length-sorted batches on the runner.</summary>
    /// <returns>One label list per input, in input order.</returns>
    public Task<IReadOnlyList<LabelScore>[]> ClassifyAsync(IReadOnlyList<TextToClassify> inputs, int? topK = 1, ClassificationFunction? function = null,
        BatchLimits? limits = null, OverlongInput overlong = OverlongInput.Truncate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        return ClassifyAsync(Tokenized(inputs, overlong), topK, function, limits, cancellationToken);
    }

    internal List<TokenizedText> Tokenized(IReadOnlyList<TextToClassify> inputs, OverlongInput overlong) =>
        [.. inputs.Select(input =>
        {
            ArgumentNullException.ThrowIfNull(input.Text);
            Encoding encoding = InputEncoding.Encode(model, log, input.Text, input.Pair, overlong);
            return new TokenizedText(encoding.Ids, encoding.TypeIds);
        })];

    /// <summary>As the text overload, on inputs already tokenized (special tokens included).</summary>
    public async Task<IReadOnlyList<LabelScore>[]> ClassifyAsync(IReadOnlyList<TokenizedText> inputs, int? topK = 1, ClassificationFunction? function = null,
        BatchLimits? limits = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (topK < 1) throw new EncoderKitException(ErrorKind.BadInput, $"top-k must be at least 1, got {topK}", field: "top_k");
        float[][] scores = await ScoresAsync(inputs, function ?? DefaultFunction, limits, cancellationToken).ConfigureAwait(false);
        return scores.Select(row => Ranked(row, topK)).ToArray();
    }

    /// <summary>Each input's scores in label order, in input order.</summary>
    internal Task<float[][]> ScoresAsync(IReadOnlyList<TokenizedText> inputs, ClassificationFunction apply, BatchLimits? limits, CancellationToken cancellationToken) =>
        (runner ?? BatchRunner.Shared).RunAsync(inputs, limits ?? new BatchLimits(), PipelineModel.PadId(model), batch => Scores(batch, apply), cancellationToken: cancellationToken);

    /// <summary>Each row's scores in label order, on the runner's thread.</summary>
    float[][] Scores(Batch batch, ClassificationFunction apply)
    {
        Tensor logits = PipelineModel.Forward(model, batch, Outputs.Classifier).ClassifierLogits!.to_type(ScalarType.Float32);   // [B, labels]
        Tensor scores = apply switch
        {
            ClassificationFunction.Softmax => logits.softmax(-1),
            ClassificationFunction.Sigmoid => logits.sigmoid(),
            _ => logits,
        };
        return PipelineModel.Rows(scores);
    }

    /// <summary>Best first; equal scores keep label order, as the pipeline's stable sort does.</summary>
    IReadOnlyList<LabelScore> Ranked(float[] scores, int? topK) =>
        [.. scores.Select((score, id) => new LabelScore(head.LabelNames[id], score)).OrderByDescending(s => s.Score).Take(topK ?? scores.Length)];
}
