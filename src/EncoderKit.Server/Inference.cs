using System.Diagnostics;
using EncoderKit.Inference;
using EncoderKit.Modeling.Heads;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Tokenization;
using Microsoft.AspNetCore.Http;

namespace EncoderKit.Server;

/// <summary>How one request wants its inputs read.</summary>
/// <param name="Truncate">Null: the server's --auto-truncate.</param>
/// <param name="Field">What the route calls its inputs, for error messages ("inputs" in TEI, "input" in OpenAI).</param>
public sealed record InputSettings(bool? Truncate = null, TruncationSide Direction = TruncationSide.Right, string? PromptName = null, string Field = "inputs");

/// <summary>
/// What the routes ask of the model, without a tensor in sight for them: validation and tokenization on the caller's
/// thread, every computation through the one <see cref="Batcher"/>, whose batches run on the encoder's runner thread.
/// The task routes use the model's heads (<see cref="TextClassifier"/>, <see cref="FillMask"/>) when it has them. Errors
/// are <see cref="ApiError"/>s carrying TEI's type and status.
/// </summary>
public sealed class Inference : IAsyncDisposable
{
    readonly ServerOptions _options;
    readonly Batcher _batcher;
    readonly TextClassifier? _classifier;
    readonly FillMask? _fillMask;
    int _inFlight;

    public Inference(SentenceEncoder encoder, ServerOptions options)
    {
        options.Check();
        Encoder = encoder;
        _options = options;
        MaxInputLength = (options.MaxInputLength, encoder.MaxSeqLength) switch
        {
            (int asked, int model) => Math.Min(asked, model),
            (int asked, null) => asked,
            (null, int model) => model,
            _ => null,
        };
        DefaultPrompt = options.DefaultPrompt ?? (options.DefaultPromptName is { } name ? NamedPrompt(name, "--default-prompt-name") : encoder.ResolvePrompt(null, null));
        var heads = encoder.Model.Spec.Heads;
        if (heads.Get<ClassifierSpec>() is not null) _classifier = new TextClassifier(encoder.Model, runner: encoder.Runner);
        if (heads.Mlm is not null && encoder.Tokenizer.MaskTokenId is not null) _fillMask = new FillMask(encoder.Model, runner: encoder.Runner);
        _batcher = new Batcher(options.MaxBatchTokens, Metrics);
    }

    public SentenceEncoder Encoder { get; }

    public ServerOptions Options => _options;

    public Batcher Batcher => _batcher;

    /// <summary>The sequence-classification head's labels, in id order; null for a model without that head.</summary>
    public IReadOnlyList<string>? Labels => _classifier?.Labels;

    public bool CanFillMask => _fillMask is not null;

    public ServerMetrics Metrics { get; } = new();

    /// <summary>Tokens an input may have, special tokens included; null: unbounded.</summary>
    public int? MaxInputLength { get; }

    public string? DefaultPrompt { get; }

    public string ModelName => _options.ServedModelName ?? Encoder.ModelId;

    /// <summary>Requests admitted and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Admits a request while fewer than --max-concurrent-requests are in flight; dispose the result when it is answered.</summary>
    public IDisposable Admit()
    {
        if (Interlocked.Increment(ref _inFlight) > _options.MaxConcurrentRequests)
        {
            Interlocked.Decrement(ref _inFlight);
            throw ApiError.Overloaded();
        }
        return new Permit(this);
    }

    sealed class Permit(Inference owner) : IDisposable
    {
        int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) Interlocked.Decrement(ref owner._inFlight);
        }
    }

    /// <summary>Sentence embeddings, one per input, as <see cref="SentenceEncoder.Encode(IReadOnlyList{string}, string?, string?, EmbedOptions?, CancellationToken)"/> computes them.</summary>
    /// <returns>The vectors and the tokens they were computed from.</returns>
    public async Task<(float[][] Vectors, long Tokens)> EmbedAsync(IReadOnlyList<TextOrIds> inputs, InputSettings settings, int? dimensions, bool normalize,
        CancellationToken cancellationToken)
    {
        if (dimensions is int dim && (dim < 1 || dim > Encoder.FullDimension))
            throw new ApiError(ApiErrorType.Validation, $"`dimensions` must be between 1 and the model's {Encoder.FullDimension}, got {dim}", "dimensions");
        TokenizedText[] rows = [];
        float[][] vectors = await ComputeAsync(() =>
        {
            (rows, int promptLength) = Tokenize(inputs, settings);
            return (new EmbedWork(Encoder, promptLength, dimensions, normalize), rows);
        }, cancellationToken).ConfigureAwait(false);
        return (vectors, rows.Sum(r => (long)r.Ids.Length));
    }

    /// <summary>The encoder's last hidden state for every token of every input: [inputs][tokens][hidden].</summary>
    public Task<float[][][]> EmbedAllAsync(IReadOnlyList<TextOrIds> inputs, InputSettings settings, CancellationToken cancellationToken) =>
        ComputeAsync(() => (new TokenStatesWork(Encoder), Tokenize(inputs, settings).Rows), cancellationToken);

    /// <summary>
    /// TEI's /predict: every label's score for each text or text pair, best first; through sigmoid for a one-label
    /// head and softmax for more, as TEI does, or the logits themselves with <paramref name="rawScores"/>.
    /// </summary>
    public Task<IReadOnlyList<LabelScore>[]> PredictAsync(IReadOnlyList<TextToClassify> inputs, bool rawScores, InputSettings settings,
        CancellationToken cancellationToken)
    {
        TextClassifier classifier = _classifier ?? throw MissingHead("predict", "a sequence-classification head (a …ForSequenceClassification checkpoint)");
        var function = rawScores ? ClassificationFunction.None : classifier.Labels.Count == 1 ? ClassificationFunction.Sigmoid : ClassificationFunction.Softmax;
        return ComputeAsync(() => (new ScoresWork(classifier, function), TokenizeRaw(inputs, settings)), cancellationToken);
    }

    /// <summary>TEI's /rerank: the one-label head's score of each (query, text) pair, in text order.</summary>
    public async Task<float[]> RerankAsync(string query, IReadOnlyList<string> texts, bool rawScores, InputSettings settings, CancellationToken cancellationToken)
    {
        const string head = "a sequence-classification head with one label (a re-ranker: …ForSequenceClassification with num_labels 1)";
        if (_classifier is null) throw MissingHead("rerank", head);
        if (_classifier.Labels.Count != 1)
            throw new ApiError(ApiErrorType.Backend, $"`rerank` needs {head}; the served model's head has {_classifier.Labels.Count} labels: use /predict");
        IReadOnlyList<LabelScore>[] scores = await PredictAsync([.. texts.Select(t => new TextToClassify(query, t))], rawScores, settings, cancellationToken)
            .ConfigureAwait(false);
        return [.. scores.Select(s => (float)s[0].Score)];
    }

    /// <summary>The fill-mask pipeline: per input, one candidate list per mask token.</summary>
    public Task<IReadOnlyList<IReadOnlyList<FillMaskCandidate>>[]> FillMaskAsync(IReadOnlyList<string> texts, int topK, InputSettings settings,
        CancellationToken cancellationToken)
    {
        FillMask fillMask = _fillMask ?? throw MissingHead("fill-mask", "a masked-language-model head (a …ForMaskedLM checkpoint) and a tokenizer with a mask token");
        if (topK < 1) throw ApiError.BadJson($"`top_k` must be at least 1, got {topK}", "top_k");
        int maskId = Encoder.Tokenizer.MaskTokenId!.Value;
        return ComputeAsync(() =>
        {
            TokenizedText[] rows = TokenizeRaw([.. texts.Select(t => new TextToClassify(t))], settings);
            for (int i = 0; i < rows.Length; i++)
                if (!rows[i].Ids.Contains(maskId))
                    throw new ApiError(ApiErrorType.Validation, $"input {i} has no {Encoder.Tokenizer.MaskToken} token to fill (after any truncation)",
                        settings.Field, StatusCodes.Status422UnprocessableEntity);
            return (new FillMaskWork(fillMask, topK), rows);
        }, cancellationToken);
    }

    static ApiError MissingHead(string route, string head) =>
        new(ApiErrorType.Backend, $"`{route}` is not available: it needs {head}, and the served model has none");

    /// <summary>
    /// Tokenizes on the caller's thread, then waits for the batcher's answer; records TEI's per-request timings
    /// (tokenization, queue, inference) once it has it.
    /// </summary>
    async Task<T[]> ComputeAsync<T>(Func<(BatchWork<T> Work, TokenizedText[] Rows)> tokenize, CancellationToken cancellationToken)
    {
        long start = Stopwatch.GetTimestamp();
        (BatchWork<T> work, TokenizedText[] rows) = tokenize();
        double tokenization = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var request = new PendingRequest(work, rows, cancellationToken);
        var results = (T[])await _batcher.EnqueueAsync(request).WaitAsync(cancellationToken).ConfigureAwait(false);
        Metrics.Timings(tokenization, request.QueueSeconds, request.InferenceSeconds);
        return results;
    }

    /// <summary>Texts and pairs as the tokenizer makes them (no prompt, no preparation), checked against the limits.</summary>
    TokenizedText[] TokenizeRaw(IReadOnlyList<TextToClassify> inputs, InputSettings settings)
    {
        CheckCount(inputs.Count, settings.Field);
        bool truncate = settings.Truncate ?? _options.AutoTruncate;
        var options = new EncodeOptions { MaxLength = MaxInputLength, TruncationSide = settings.Direction };
        var rows = new TokenizedText[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            (string text, string? pair) = inputs[i];
            if (text.Length == 0 || pair is { Length: 0 }) throw Empty(settings.Field);
            Tokenization.Encoding encoding = Encoder.Tokenizer.Encode(text, pair, options);
            if (encoding.Truncated && !truncate) throw TooLong(Encoder.Tokenizer.Encode(text, pair).Length, settings.Field);
            rows[i] = new TokenizedText(encoding.Ids, encoding.TypeIds);
        }
        return rows;
    }

    /// <summary>
    /// Rows for the model, as <see cref="SentenceEncoder"/> makes them from texts (prompt, strip, lowercase, tokenize),
    /// or ids taken as given; checked against --max-client-batch-size and the input length limit.
    /// </summary>
    public (TokenizedText[] Rows, int PromptLength) Tokenize(IReadOnlyList<TextOrIds> inputs, InputSettings settings)
    {
        CheckCount(inputs.Count, settings.Field);
        string? prompt = settings.PromptName is { } name ? NamedPrompt(name, "prompt_name") : DefaultPrompt;
        bool truncate = settings.Truncate ?? _options.AutoTruncate;
        var options = new EncodeOptions { MaxLength = MaxInputLength, TruncationSide = settings.Direction };
        var rows = new TokenizedText[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Ids is { } ids)
            {
                rows[i] = new TokenizedText(CheckIds(ids, truncate, settings));
                continue;
            }
            string text = inputs[i].Text!;
            if (text.Length == 0) throw Empty(settings.Field);
            Tokenization.Encoding encoding = Encoder.Tokenizer.Encode(Encoder.Prepare(prompt, text), null, options);
            if (encoding.Truncated && !truncate)
            {
                int full = Encoder.Tokenizer.Encode(Encoder.Prepare(prompt, text)).Length;
                throw TooLong(full, settings.Field);
            }
            rows[i] = new TokenizedText(encoding.Ids, encoding.TypeIds);
        }
        return (rows, Encoder.PromptLength(prompt, options));
    }

    void CheckCount(int count, string field)
    {
        if (count == 0) throw Empty(field);
        if (count > _options.MaxClientBatchSize)
            throw new ApiError(ApiErrorType.Validation, $"batch size {count} > maximum allowed batch size {_options.MaxClientBatchSize}", field);
    }

    static ApiError Empty(string field) => new(ApiErrorType.Empty, $"`{field}` cannot be empty", field);

    ApiError TooLong(int tokens, string field) =>
        new(ApiErrorType.Validation, $"Input validation error: `{field}` must have less than {MaxInputLength} tokens. Given: {tokens}", field);

    int[] CheckIds(int[] ids, bool truncate, InputSettings settings)
    {
        if (ids.Length == 0) throw Empty(settings.Field);
        int vocab = Encoder.Tokenizer.VocabSize;
        foreach (int id in ids)
            if (id >= vocab) throw new ApiError(ApiErrorType.Tokenizer, $"token id {id} is not in the model's vocabulary of {vocab}", settings.Field);
        if (MaxInputLength is not int max || ids.Length <= max) return ids;
        if (!truncate) throw TooLong(ids.Length, settings.Field);
        return settings.Direction == TruncationSide.Right ? ids[..max] : ids[^max..];
    }

    string NamedPrompt(string name, string field) => Encoder.Prompts.TryGetValue(name, out string? prompt) ? prompt
        : throw new ApiError(ApiErrorType.Validation,
            $"Prompt name '{name}' not found in the available prompts ({string.Join(", ", Encoder.Prompts.Keys.DefaultIfEmpty("the model has none"))})", field);

    /// <summary>TEI's /tokenize: each token's id, text, whether it is special, and its UTF-8 byte span in prompt + input (none for special tokens).</summary>
    public IReadOnlyList<IReadOnlyList<SimpleToken>> TokenizeForDisplay(IReadOnlyList<string> texts, bool addSpecialTokens, string? promptName)
    {
        CheckCount(texts.Count, "inputs");
        string? prompt = promptName is { } name ? NamedPrompt(name, "prompt_name") : DefaultPrompt;
        var options = new EncodeOptions { AddSpecialTokens = addSpecialTokens };
        return [.. texts.Select(text =>
        {
            string input = prompt + text;
            Tokenization.Encoding encoding = Encoder.Tokenizer.Encode(input, null, options);
            int[] bytesBefore = Utf8Positions(input);
            return (IReadOnlyList<SimpleToken>)[.. Enumerable.Range(0, encoding.Length).Select(i =>
            {
                (int start, int end) = encoding.Offsets[i];
                bool special = encoding.SpecialTokensMask[i] == 1;
                return special
                    ? new SimpleToken(encoding.Ids[i], encoding.Tokens[i], special, null, null)
                    : new SimpleToken(encoding.Ids[i], input[start..end], false, bytesBefore[start], bytesBefore[end]);
            })];
        })];
    }

    /// <summary>For each UTF-16 position (and the end), the UTF-8 bytes before it.</summary>
    static int[] Utf8Positions(string text)
    {
        var positions = new int[text.Length + 1];
        int bytes = 0;
        for (int i = 0; i < text.Length; i++)
        {
            positions[i] = bytes;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                positions[i + 1] = bytes;   // inside a pair: no offset points here
                bytes += 4;
                i++;
                continue;
            }
            bytes += text[i] < 0x80 ? 1 : text[i] < 0x800 ? 2 : 3;
        }
        positions[text.Length] = bytes;
        return positions;
    }

    /// <summary>TEI's /decode.</summary>
    public IReadOnlyList<string> Decode(IReadOnlyList<int[]> idLists, bool skipSpecialTokens)
    {
        CheckCount(idLists.Count, "ids");
        int vocab = Encoder.Tokenizer.VocabSize;
        foreach (int id in idLists.SelectMany(ids => ids))
            if (id >= vocab) throw new ApiError(ApiErrorType.Tokenizer, $"token id {id} is not in the model's vocabulary of {vocab}", "ids");
        return [.. idLists.Select(ids => Encoder.Tokenizer.Decode(ids, skipSpecialTokens))];
    }

    public ValueTask DisposeAsync() => _batcher.DisposeAsync();
}

/// <summary>One token of TEI's /tokenize answer.</summary>
public sealed record SimpleToken(int Id, string Text, bool Special, int? Start, int? Stop);
