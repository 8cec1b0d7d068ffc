using EncoderKit.Modeling;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit.Server;

/// <summary>How one request wants its inputs read.</summary>
/// <param name="Truncate">Null: the server's --auto-truncate.</param>
/// <param name="Field">What the route calls its inputs, for error messages ("inputs" in TEI, "input" in OpenAI).</param>
public sealed record InputSettings(bool? Truncate = null, TruncationSide Direction = TruncationSide.Right, string? PromptName = null, string Field = "inputs");

/// <summary>
/// What the routes ask of the model, without a tensor in sight for them: validation and tokenization on the caller's
/// thread, embeddings through the <see cref="EmbeddingBatcher"/>, token states on the encoder's runner thread. Errors
/// are <see cref="ApiError"/>s carrying TEI's type and status.
/// </summary>
public sealed class Inference : IAsyncDisposable
{
    readonly ServerOptions _options;
    readonly EmbeddingBatcher _batcher;
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
        _batcher = new EmbeddingBatcher(encoder, options.MaxBatchTokens, Metrics);
    }

    public SentenceEncoder Encoder { get; }

    public ServerOptions Options => _options;

    public EmbeddingBatcher Batcher => _batcher;

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
        (TokenizedText[] rows, int promptLength) = Tokenize(inputs, settings);
        var request = new PendingEmbed(rows, new EmbedSettings(promptLength, dimensions, normalize), cancellationToken);
        float[][] vectors = await _batcher.EmbedAsync(request).WaitAsync(cancellationToken).ConfigureAwait(false);
        return (vectors, rows.Sum(r => (long)r.Ids.Length));
    }

    /// <summary>The encoder's last hidden state for every token of every input: [inputs][tokens][hidden].</summary>
    public async Task<float[][][]> EmbedAllAsync(IReadOnlyList<TextOrIds> inputs, InputSettings settings, CancellationToken cancellationToken)
    {
        (TokenizedText[] rows, _) = Tokenize(inputs, settings);
        var limits = new BatchLimits(_options.MaxBatchTokens);
        return await Encoder.Runner.RunAsync(rows, limits, Encoder.Tokenizer.PadTokenId ?? 0, TokenStates, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>On the runner's thread: each row's real tokens' last hidden states.</summary>
    float[][][] TokenStates(Batch batch)
    {
        Device device = Encoder.Model.Device;
        using EncoderOutputs outputs = Encoder.Model.Forward(batch.InputIdsTensor().to(device), batch.AttentionMaskTensor().to(device),
            batch.TokenTypeIdsTensor()?.to(device), Outputs.LastHiddenState);
        Tensor states = outputs.LastHiddenState.to(ScalarType.Float32).to(CPU).contiguous();   // [B, L, H]
        int length = (int)states.shape[1], hidden = (int)states.shape[2];
        float[] flat = states.data<float>().ToArray();
        var result = new float[batch.Count][][];
        for (int b = 0; b < batch.Count; b++)
        {
            result[b] = new float[batch.Lengths[b]][];
            for (int t = 0; t < batch.Lengths[b]; t++) result[b][t] = flat.AsSpan((b * length + t) * hidden, hidden).ToArray();
        }
        return result;
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
