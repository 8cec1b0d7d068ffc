using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using EncoderKit.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EncoderKit.Inference;

/// <summary>A question (or context) and the choices it offers.</summary>
public sealed record ChoiceQuestion(string Question, IReadOnlyList<string> Choices);

/// <param name="Scores">Softmax over the choices' logits, in choice order.</param>
/// <param name="Label">The index of the best choice (the first of equals).</param>
public sealed record ChoiceScores(IReadOnlyList<double> Scores, int Label);

/// <summary>
/// Multiple choice as <c>*ForMultipleChoice</c> models are read: each (question, choice) pair is encoded as a text pair
/// and scored by the head, and one softmax over a question's choices turns their logits into probabilities.
/// </summary>
/// <remarks>
/// The model computes [B, C, L] inputs as B × C independent rows, so the pairs run here as rows of their own, sorted
/// by length with those of other questions; padding never changes a row, so each logit is the one the [B, C, L]
/// input gives.
/// </remarks>
public sealed class MultipleChoice : IDisposable
{
    readonly EncoderModel model;
    readonly ILogger log;
    readonly BatchRunner? runner;
    bool ownsModel;

    /// <param name="runner">Where the forward pass runs; <see cref="BatchRunner.Shared"/> when null.</param>
    public MultipleChoice(EncoderModel model, ILogger? logger = null, BatchRunner? runner = null)
    {
        this.model = model;
        PipelineModel.Head<MultipleChoiceSpec>(model, "multiple-choice head", "choose between answers");
        log = logger ?? NullLogger.Instance;
        this.runner = runner;
    }

    /// <summary>Loads <paramref name="model"/> (a folder or hub id, fetched into the Hugging Face cache when needed) for this pipeline, which then owns it: disposing the pipeline frees the model.</summary>
    public static Task<MultipleChoice> LoadAsync(string model, EncoderModelOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default) =>
        PipelineModel.LoadAsync(model, options, loaded => new MultipleChoice(loaded, logger) { ownsModel = true }, cancellationToken);

    /// <summary>Frees the model when the pipeline loaded it (<see cref="LoadAsync"/>); a model passed in stays the caller's.</summary>
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }

    public ChoiceScores Choose(string question, IReadOnlyList<string> choices) => ChooseAsync([new ChoiceQuestion(question, choices)]).GetAwaiter().GetResult()[0];

    /// <returns>One answer per question, in input order.</returns>
    public async Task<ChoiceScores[]> ChooseAsync(IReadOnlyList<ChoiceQuestion> questions, BatchLimits? limits = null, OverlongInput overlong = OverlongInput.Truncate,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(questions);
        foreach (ChoiceQuestion q in questions)
        {
            ArgumentNullException.ThrowIfNull(q);
            ArgumentNullException.ThrowIfNull(q.Question);
            if (q.Choices is null || q.Choices.Count < 2)
                throw new EncoderKitException(ErrorKind.BadInput, $"a question needs at least two choices, got {q.Choices?.Count ?? 0}", field: "choices");
        }
        List<TokenizedText> rows = [.. questions.SelectMany(q => q.Choices.Select(choice =>
        {
            ArgumentNullException.ThrowIfNull(choice);
            Tokenization.Encoding encoding = InputEncoding.Encode(model, log, q.Question, choice, overlong);
            return new TokenizedText(encoding.Ids, encoding.TypeIds);
        }))];
        float[] logits = await (runner ?? BatchRunner.Shared).RunAsync(rows, limits ?? new BatchLimits(), PipelineModel.PadId(model),
            batch => PipelineModel.Forward(model, batch, Outputs.ChoiceLogits).ChoiceLogits!.to_type(TorchSharp.torch.ScalarType.Float32).cpu().data<float>().ToArray(),
            cancellationToken: cancellationToken).ConfigureAwait(false);

        var results = new ChoiceScores[questions.Count];
        int at = 0;
        for (int q = 0; q < questions.Count; q++)
        {
            int count = questions[q].Choices.Count;
            double[] scores = Probabilities.Softmax(logits.AsSpan(at, count));
            at += count;
            results[q] = new ChoiceScores(scores, Array.IndexOf(scores, scores.Max()));
        }
        return results;
    }
}
