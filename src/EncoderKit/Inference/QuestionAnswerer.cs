using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using EncoderKit.Runtime;
using EncoderKit.Tokenization;

namespace EncoderKit.Inference;

/// <summary>A question about a context, for extractive question answering.</summary>
public sealed record QuestionAndContext(string Question, string Context);

/// <summary>How the question-answering pipeline reads and answers; null sizes take the pipeline's defaults.</summary>
/// <param name="TopK">Answers per question, best first.</param>
/// <param name="MaxAnswerLength">The longest answer, in tokens.</param>
/// <param name="MaxSequenceLength">Tokens per window (question, context part and special tokens); default the smaller of 384 and the model's limit.</param>
/// <param name="DocStride">Context tokens consecutive windows share; default the smaller of 128 and half a window.</param>
/// <param name="HandleImpossibleAnswer">Also offer the empty answer, scored by [CLS]'s start × end probability.</param>
/// <param name="AlignToWords">
/// Widen an answer to whole words of the pre-tokenizer (the pipeline's default); for text without spaces between
/// words (Japanese, Chinese) a "word" can be a whole sentence, so turn it off there.
/// </param>
public sealed record AnswerOptions(int TopK = 1, int MaxAnswerLength = 15, int? MaxSequenceLength = null, int? DocStride = null, bool HandleImpossibleAnswer = false,
    bool AlignToWords = true);

/// <summary>
/// Extractive question answering as the Hugging Face <c>question-answering</c> pipeline answers it: the question and
/// context are encoded as a pair, the context alone cut into windows of the window length overlapping by the doc
/// stride; each window's best spans come from its start and end logits (<see cref="AnswerSpans"/>); the answers of
/// all windows are ranked together and given as character spans of the original context.
/// </summary>
public sealed class QuestionAnswerer : IDisposable
{
    readonly EncoderModel model;
    readonly BatchRunner? runner;
    bool ownsModel;

    /// <param name="runner">Where the forward pass runs; <see cref="BatchRunner.Shared"/> when null.</param>
    public QuestionAnswerer(EncoderModel model, BatchRunner? runner = null)
    {
        this.model = model;
        PipelineModel.Head<QuestionAnsweringSpec>(model, "question-answering head", "answer questions");
        this.runner = runner;
    }

    /// <summary>Loads <paramref name="model"/> (a folder or hub id, fetched into the Hugging Face cache when needed) for this pipeline, which then owns it: disposing the pipeline frees the model.</summary>
    public static Task<QuestionAnswerer> LoadAsync(string model, EncoderModelOptions? options = null, CancellationToken cancellationToken = default) =>
        PipelineModel.LoadAsync(model, options, loaded => new QuestionAnswerer(loaded) { ownsModel = true }, cancellationToken);

    /// <summary>Frees the model when the pipeline loaded it (<see cref="LoadAsync"/>); a model passed in stays the caller's.</summary>
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }

    public IReadOnlyList<Answer> Answer(string question, string context, AnswerOptions? options = null) =>
        AnswerAsync([new QuestionAndContext(question, context)], options).GetAwaiter().GetResult()[0];

    /// <summary>Tokenizes on the caller's thread, runs every window of every question in length-sorted batches on the runner.</summary>
    /// <returns>Per question, in input order, its answers best first.</returns>
    public async Task<IReadOnlyList<Answer>[]> AnswerAsync(IReadOnlyList<QuestionAndContext> inputs, AnswerOptions? options = null, BatchLimits? limits = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= new AnswerOptions();
        var (windowLength, stride) = Check(options);
        Encoding[][] windows = [.. inputs.Select(input => Windows(input, windowLength, stride))];
        List<TokenizedText> rows = [.. windows.SelectMany(w => w).Select(e => new TokenizedText(e.Ids, e.TypeIds))];
        (float[] Start, float[] End)[] logits = await (runner ?? BatchRunner.Shared).RunAsync(rows, limits ?? new BatchLimits(), PipelineModel.PadId(model),
            batch =>
            {
                EncoderOutputs outputs = PipelineModel.Forward(model, batch, Outputs.SpanLogits);
                return PipelineModel.RealPositions(outputs.StartLogits!, batch).Zip(PipelineModel.RealPositions(outputs.EndLogits!, batch)).ToList();
            }, cancellationToken: cancellationToken).ConfigureAwait(false);

        var results = new IReadOnlyList<Answer>[inputs.Count];
        int row = 0;
        for (int q = 0; q < inputs.Count; q++)
        {
            results[q] = AnswerSpans.FromWindows(inputs[q].Context, windows[q], logits[row..(row + windows[q].Length)], model.Tokenizer.ClsTokenId, options);
            row += windows[q].Length;
        }
        return results;
    }

    (int WindowLength, int Stride) Check(AnswerOptions options)
    {
        if (options.TopK < 1) throw new EncoderKitException(ErrorKind.BadInput, $"top-k must be at least 1, got {options.TopK}", field: "top_k");
        if (options.MaxAnswerLength < 1) throw new EncoderKitException(ErrorKind.BadInput, $"the longest answer must be at least 1 token, got {options.MaxAnswerLength}", field: "max_answer_len");
        int windowLength = options.MaxSequenceLength ?? Math.Min(384, model.MaxInputTokens ?? 384);
        if (model.MaxInputTokens is int limit && windowLength > limit)
            throw new EncoderKitException(ErrorKind.BadInput, $"a window of {windowLength} tokens is more than the model's {limit}", field: "max_seq_len");
        int stride = options.DocStride ?? Math.Min(windowLength / 2, 128);
        if (stride < 0 || stride > windowLength)
            throw new EncoderKitException(ErrorKind.BadInput, $"the doc stride must be between 0 and the window's {windowLength} tokens, got {stride}", field: "doc_stride");
        return (windowLength, stride);
    }

    /// <summary>The pair's windows: the question whole in each, the context cut into overlapping parts ('only_second').</summary>
    Encoding[] Windows(QuestionAndContext input, int windowLength, int stride)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (string.IsNullOrWhiteSpace(input.Question)) throw new EncoderKitException(ErrorKind.BadInput, "the question is empty", field: "question");
        if (string.IsNullOrWhiteSpace(input.Context)) throw new EncoderKitException(ErrorKind.BadInput, "the context is empty", field: "context");
        Encoding first = model.Tokenizer.Encode(input.Question, input.Context,
            new EncodeOptions { MaxLength = windowLength, Stride = stride, Truncation = TruncationStrategy.OnlySecond });
        return [first, .. first.Overflowing];
    }

}
