using EncoderKit.Hub;
using EncoderKit.Modeling;
using EncoderKit.Runtime;
using EncoderKit.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// Sentence embeddings from a sentence-transformers folder (or a plain Hugging Face encoder, mean-pooled), computed
/// as sentence-transformers computes them: prompt + text, stripped (and lowercased when the model says so),
/// tokenized with truncation to max_seq_length, run through the encoder, pooled, through any Dense/LayerNorm
/// modules, then truncated to a Matryoshka width and normalised.
/// </summary>
/// <remarks>
/// <para>
/// Thread-safe: tokenization runs on the caller's thread, forward passes on the encoder's own <see cref="BatchRunner"/>,
/// one batch at a time, requests from several threads taking turns.
/// </para>
/// <para>
/// Deliberate differences from the library: inputs are batched by token count, not character count (less padding,
/// same results); pooling and the modules after it compute in float32 even when the encoder runs in bf16; a
/// trailing Normalize module runs after Matryoshka truncation (the library slices normalised vectors, leaving them
/// shorter than 1 unless encode is also asked to normalise; the model cards' recipe, which this follows, normalises
/// after slicing); and max_seq_length never exceeds the encoder's learned positions.
/// </para>
/// </remarks>
public sealed class SentenceEncoder : IDisposable
{
    /// <summary>sentence-transformers' encode_document tries these prompt names in turn.</summary>
    static readonly string[] DocumentPromptNames = ["document", "passage", "corpus"];

    readonly BatchRunner _runner;
    readonly object _gate = new();
    readonly ILogger _logger;
    readonly long _padId;
    bool _disposed;

    SentenceEncoder(string modelId, string folder, IReadOnlyList<string> sourceFolders, SentenceModel modules, Tokenizer tokenizer,
        SentenceEncoderSettings settings, SentenceEncoderOptions options)
    {
        ModelId = modelId;
        Folder = folder;
        SourceFolders = sourceFolders;
        Modules = modules;
        Tokenizer = tokenizer;
        _logger = options.Logger ?? NullLogger.Instance;
        Prompts = settings.Prompts ?? new Dictionary<string, string>();
        DefaultPromptName = settings.DefaultPromptName;
        SimilarityFunction = settings.SimilarityFunction ?? SimilarityFunction.Cosine;
        DoLowerCase = settings.DoLowerCase;
        new BatchLimits(options.MaxBatchTokens, options.BatchSize).Check();   // refused at load, not at the first encode
        BatchSize = options.BatchSize;
        MaxBatchTokens = options.MaxBatchTokens;
        _padId = tokenizer.PadTokenId ?? modules.Transformer.Config.IntOrNull("pad_token_id") ?? 0;
        TruncateDim = CheckTruncateDim(options.TruncateDim);
        MaxSeqLength = EffectiveMaxSeqLength(options.MaxSeqLength ?? settings.MaxSeqLength);
        _runner = new BatchRunner($"EncoderKit sentence encoder ({modelId})");
    }

    /// <summary>What the encoder was loaded from (hub id or folder).</summary>
    public string ModelId { get; }

    /// <summary>The model folder (the sentence-transformers root, which may hold the encoder in a subfolder).</summary>
    public string Folder { get; }

    /// <summary>The folders whose files make up the model: the root, the encoder's, and each module's.</summary>
    public IReadOnlyList<string> SourceFolders { get; }

    /// <summary>The sentence-transformers modules: encoder, pooling, and what follows.</summary>
    public SentenceModel Modules { get; }

    public EncoderModel Model => Modules.Transformer;

    /// <summary>
    /// The thread this encoder's forward passes run on; other pipelines over <see cref="Model"/> (fill-mask, heads) can
    /// run there too, so one model computes on one thread. Disposed with the encoder.
    /// </summary>
    public BatchRunner Runner => _runner;

    /// <summary>Device and dtype the encoder computes in ("cpu/Float32"): part of what decides the vectors.</summary>
    public string ComputeDescription => $"{Model.Device.type}/{Model.Network.parameters().First().dtype}";

    public Tokenizer Tokenizer { get; }

    public PoolingConfig Pooling => Modules.Pooling;

    /// <summary>The modules after pooling, in order (a final Normalize is not among them: see <see cref="NormalizesByDefault"/>).</summary>
    public IReadOnlyList<IEmbeddingLayer> Layers => Modules.Layers;

    /// <summary>Whether the model's modules end in Normalize.</summary>
    public bool NormalizesByDefault => Modules.EndsWithNormalize;

    /// <summary>Width of the vectors the modules produce, before any truncation.</summary>
    public int FullDimension => Modules.Dimension;

    /// <summary>Default Matryoshka width; null keeps <see cref="FullDimension"/>.</summary>
    public int? TruncateDim { get; }

    /// <summary>Width of the vectors <see cref="Encode(IReadOnlyList{string}, string?, string?, EmbedOptions?, CancellationToken)"/> returns by default.</summary>
    public int Dimension => TruncateDim ?? FullDimension;

    /// <summary>Inputs are truncated to this many tokens (special tokens included); null when nothing bounds them.</summary>
    public int? MaxSeqLength { get; }

    public bool DoLowerCase { get; }

    /// <summary>Rows per forward pass at most.</summary>
    public int BatchSize { get; }

    /// <summary>Padded tokens (rows × longest row) per forward pass at most; null for no budget.</summary>
    public int? MaxBatchTokens { get; }

    /// <summary>Named prompts from config_sentence_transformers.json (e.g. "query" → "query: ").</summary>
    public IReadOnlyDictionary<string, string> Prompts { get; }

    public string? DefaultPromptName { get; }

    /// <summary>The model's similarity_fn_name, cosine when it names none.</summary>
    public SimilarityFunction SimilarityFunction { get; }

    /// <summary>The prompt for search queries, as sentence-transformers' encode_query picks it: the model's "query" prompt, if any.</summary>
    public string? QueryPromptName => Prompts.ContainsKey("query") ? "query" : null;

    /// <summary>
    /// The prompt for documents searched, as sentence-transformers' encode_document picks it: the model's "document",
    /// "passage" or "corpus" prompt, the first it has.
    /// </summary>
    public string? DocumentPromptName => DocumentPromptNames.FirstOrDefault(Prompts.ContainsKey);

    /// <summary>Resolves <paramref name="model"/> (a folder, or a hub id fetched into the hub cache), then loads it.</summary>
    public static async Task<SentenceEncoder> LoadAsync(string model, SentenceEncoderOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new SentenceEncoderOptions();
        string folder = await ModelSource.ResolveAsync(model, options.Revision, options.Hub, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return await Task.Run(() => Load(folder, options, model), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads the model in <paramref name="folder"/>: a sentence-transformers folder, or a plain one (mean pooling, with a notice).</summary>
    /// <remarks><see cref="ModelId"/> is <see cref="SentenceEncoderOptions.Model"/> when set (the name the folder was resolved from), else the folder.</remarks>
    public static SentenceEncoder Load(string folder, SentenceEncoderOptions? options = null) =>
        Load(folder, options ?? new SentenceEncoderOptions(), options?.Model ?? folder);

    static SentenceEncoder Load(string folder, SentenceEncoderOptions options, string modelId)
    {
        SentenceTransformerConfig config = SentenceTransformerConfig.Read(folder);
        SentenceModel modules = SentenceModel.Load(config, options.Compute, options.Logger, options.Pooling);
        try
        {
            var settings = new SentenceEncoderSettings(config.MaxSeqLength, config.DoLowerCase, config.Prompts, config.DefaultPromptName, config.SimilarityFunction);
            string[] sources = new[] { folder, config.TransformerFolder }.Concat(config.Modules.Skip(1).Select(m => m.FolderIn(folder)))
                .Where(Directory.Exists).Select(Path.GetFullPath).Distinct().ToArray();
            return new SentenceEncoder(modelId, folder, sources, modules, modules.Transformer.Tokenizer, settings, options);
        }
        catch
        {
            modules.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An encoder over parts already in hand (random weights for benchmarks, a model being trained). The encoder does
    /// not dispose <paramref name="model"/>; it disposes <paramref name="layers"/>.
    /// </summary>
    public static SentenceEncoder Create(EncoderModel model, Tokenizer tokenizer, PoolingConfig? pooling = null,
        IReadOnlyList<IEmbeddingLayer>? layers = null, SentenceEncoderSettings? settings = null, SentenceEncoderOptions? options = null) =>
        new(model.Folder, model.Folder, [model.Folder], new SentenceModel(model, pooling ?? PoolingConfig.Mean(model.Spec.Hidden), layers ?? [], ownsTransformer: false),
            tokenizer, settings ?? new SentenceEncoderSettings(), options ?? new SentenceEncoderOptions());

    /// <summary>
    /// Writes the encoder as a sentence-transformers folder (<see cref="SentenceModel.Save"/>) with its prompts, default
    /// prompt, similarity function and sequence length, so <see cref="Load(string, SentenceEncoderOptions?)"/> gives back the same vectors.
    /// </summary>
    public void Save(string folder) =>
        Modules.Save(folder, new SentenceEncoderSettings(MaxSeqLength, DoLowerCase, Prompts, DefaultPromptName, SimilarityFunction));

    /// <summary>Embeds <paramref name="texts"/>, returning one vector per text in input order.</summary>
    /// <param name="promptName">A key of <see cref="Prompts"/>; without it and <paramref name="prompt"/>, the default prompt (if any) applies.</param>
    /// <param name="prompt">A literal prefix ("search_query: "); wins over <paramref name="promptName"/>.</param>
    public float[][] Encode(IReadOnlyList<string> texts, string? promptName = null, string? prompt = null, EmbedOptions? options = null,
        CancellationToken cancellationToken = default) =>
        EncodeAsync(texts, promptName, prompt, options, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Embeds one text.</summary>
    public float[] Encode(string text, string? promptName = null, string? prompt = null, EmbedOptions? options = null) =>
        Encode([text], promptName, prompt, options)[0];

    /// <summary>
    /// As <see cref="Encode(IReadOnlyList{string}, string?, string?, EmbedOptions?, CancellationToken)"/>: tokenization on
    /// the caller's thread, forward passes on the encoder's runner; cancellation is checked between batches.
    /// </summary>
    public async Task<float[][]> EncodeAsync(IReadOnlyList<string> texts, string? promptName = null, string? prompt = null, EmbedOptions? options = null,
        CancellationToken cancellationToken = default) =>
        (await EncodeTextsAsync(texts, promptName, prompt, options ?? EmbedOptions.Default, cancellationToken).ConfigureAwait(false)).Embeddings;

    /// <summary>Embeds, then quantizes all the vectors together (int8/uint8 ranges come from this set unless given).</summary>
    public QuantizedEmbeddings EncodeQuantized(IReadOnlyList<string> texts, EmbeddingPrecision precision, string? promptName = null,
        string? prompt = null, EmbedOptions? options = null, float[][]? ranges = null, CancellationToken cancellationToken = default)
    {
        QuantizedWidth(precision, options);
        return Quantize(Encode(texts, promptName, prompt, options, cancellationToken), precision, ranges);
    }

    /// <summary>
    /// Bytes per row that <paramref name="precision"/> makes of this encoder's vectors under <paramref name="options"/>
    /// (a float count for float32); checked before any compute, since binary packs whole bytes.
    /// </summary>
    public int QuantizedWidth(EmbeddingPrecision precision, EmbedOptions? options = null)
    {
        int width = CheckTruncateDim(options?.TruncateDim) ?? Dimension;
        if (precision is not (EmbeddingPrecision.Binary or EmbeddingPrecision.UBinary)) return width;
        return width % 8 == 0 ? width / 8
            : throw new EncoderKitException(ErrorKind.BadInput, $"{EmbeddingQuantizer.Name(precision)} packs 8 dimensions to a byte; {width} is not a multiple of 8", field: "precision");
    }

    /// <summary>Quantizes vectors this encoder made, all together, warning when int8/uint8 ranges come from too few of them.</summary>
    public QuantizedEmbeddings Quantize(IReadOnlyList<float[]> embeddings, EmbeddingPrecision precision, float[][]? ranges = null)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (precision is EmbeddingPrecision.Int8 or EmbeddingPrecision.UInt8 && ranges is null && embeddings.Count < EmbeddingQuantizer.FewEmbeddingsForRanges)
            _logger.LogWarning("{Precision} buckets computed from only {Count} embeddings; ranges from more embeddings are more stable",
                EmbeddingQuantizer.Name(precision), embeddings.Count);
        return EmbeddingQuantizer.Quantize(embeddings, precision, ranges);
    }

    /// <summary>
    /// Embeds inputs already tokenized (special tokens included). <paramref name="promptLength"/> is what pooling
    /// without the prompt leaves out (the prompt's token count with special tokens, minus one, as the library counts).
    /// </summary>
    public float[][] EncodeTokens(IReadOnlyList<TokenizedText> inputs, int promptLength = 0, EmbedOptions? options = null,
        CancellationToken cancellationToken = default) =>
        EncodeTokensAsync(inputs, promptLength, options, cancellationToken).GetAwaiter().GetResult();

    /// <summary>As <see cref="EncodeTokens"/>, forward passes on the encoder's runner.</summary>
    public Task<float[][]> EncodeTokensAsync(IReadOnlyList<TokenizedText> inputs, int promptLength = 0, EmbedOptions? options = null,
        CancellationToken cancellationToken = default) =>
        RunAsync(inputs, promptLength, options ?? EmbedOptions.Default, cancellationToken);

    /// <summary>The model's similarity between every row of <paramref name="a"/> and every row of <paramref name="b"/>.</summary>
    public float[][] Similarity(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b) => SentenceEmbeddings.Similarity.Matrix(a, b, SimilarityFunction);

    /// <summary>The model's similarity of a[i] and b[i].</summary>
    public float[] SimilarityPairwise(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b) => SentenceEmbeddings.Similarity.Pairwise(a, b, SimilarityFunction);

    /// <summary>This encoder as a Microsoft.Extensions.AI embedding generator; disposing the generator leaves the encoder open.</summary>
    public IEmbeddingGenerator<string, Embedding<float>> AsEmbeddingGenerator() => new SentenceEmbeddingGenerator(this, ownsEncoder: false);

    /// <summary>The prompt text that applies: the literal one, the named one, or the default one.</summary>
    public string? ResolvePrompt(string? promptName, string? prompt)
    {
        if (prompt is not null)
        {
            if (promptName is not null)
                _logger.LogWarning("both a prompt and a prompt name were given; using the prompt and ignoring the name '{PromptName}'", promptName);
            return prompt;
        }
        if (promptName is not null)
        {
            return Prompts.TryGetValue(promptName, out string? named) ? named
                : throw new EncoderKitException(ErrorKind.BadInput,
                    $"prompt name '{promptName}' is not one of the model's prompts ({string.Join(", ", Prompts.Keys.DefaultIfEmpty("it has none"))}); give a literal prefix instead",
                    field: "prompt_name");
        }
        return DefaultPromptName is not null && Prompts.TryGetValue(DefaultPromptName, out string? fallback) ? fallback : null;
    }

    /// <summary>The text the tokenizer sees for <paramref name="text"/> behind <paramref name="prompt"/>, as sentence-transformers prepares it.</summary>
    public string Prepare(string? prompt, string text) => TextPreparation.Prepare(prompt + text, DoLowerCase);

    /// <summary>
    /// How many leading tokens of an input are the prompt's, which pooling leaves out when the model says so:
    /// sentence-transformers counts the prompt alone with its special tokens, minus one (the closing one).
    /// </summary>
    public int PromptLength(string? prompt, EncodeOptions? options = null) =>
        string.IsNullOrEmpty(prompt) ? 0 : Math.Max(0, Tokenizer.Encode(TextPreparation.Prepare(prompt, DoLowerCase), null, options).Length - 1);

    internal sealed record Outcome(float[][] Embeddings, long Tokens, int Truncated);

    internal async Task<Outcome> EncodeTextsAsync(IReadOnlyList<string> texts, string? promptName, string? prompt, EmbedOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(_disposed, this);
        string? resolved = ResolvePrompt(promptName, prompt);
        var prepared = new string[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            string text = texts[i] ?? throw new ArgumentException($"text {i} is null", nameof(texts));
            prepared[i] = Prepare(resolved, text);
        }
        var encodeOptions = new EncodeOptions { MaxLength = MaxSeqLength };
        IReadOnlyList<Encoding> encodings = Tokenizer.EncodeBatch(prepared, encodeOptions);
        int truncated = 0, first = -1;
        for (int i = 0; i < encodings.Count; i++)
        {
            if (!encodings[i].Truncated) continue;
            truncated++;
            if (first < 0) first = i;
        }
        if (truncated > 0)
            _logger.LogWarning("{Truncated} of {Count} inputs were longer than the model's max_seq_length of {MaxSeqLength} tokens and were truncated to it (the first is input {First})",
                truncated, encodings.Count, MaxSeqLength, first + 1);
        var inputs = encodings.Select(e => new TokenizedText(e.Ids, e.TypeIds)).ToArray();
        float[][] embeddings = await RunAsync(inputs, PromptLength(resolved, encodeOptions), options, cancellationToken).ConfigureAwait(false);
        return new Outcome(embeddings, inputs.Sum(x => (long)x.Ids.Length), truncated);
    }

    Task<float[][]> RunAsync(IReadOnlyList<TokenizedText> inputs, int promptLength, EmbedOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int? truncateDim = CheckTruncateDim(options.TruncateDim ?? TruncateDim);
        bool normalize = options.Normalize ?? NormalizesByDefault;
        var limits = new BatchLimits(options.MaxBatchTokens ?? MaxBatchTokens, options.BatchSize ?? BatchSize, options.SortByLength, options.MaxPaddingShare);
        return _runner.RunAsync(inputs, limits, _padId, batch => EmbedBatch(batch, promptLength, truncateDim, normalize), options.Progress, cancellationToken);
    }

    /// <summary>One batch, on the runner's thread: the modules, then the Matryoshka width and normalisation. D output width.</summary>
    float[][] EmbedBatch(Batch batch, int promptLength, int? truncateDim, bool normalize)
    {
        Tensor embeddings = Modules.Forward(batch, promptLength);                                      // [B, D]
        if (truncateDim is int dim && dim < embeddings.shape[1]) embeddings = embeddings.narrow(1, 0, dim);
        if (normalize) embeddings = SentenceEmbeddings.Pooling.Normalize(embeddings);
        Tensor cpu = embeddings.to(CPU).contiguous();
        float[] flat = cpu.data<float>().ToArray();
        int width = (int)cpu.shape[1];
        var result = new float[batch.Count][];
        for (int r = 0; r < batch.Count; r++) result[r] = flat.AsSpan(r * width, width).ToArray();
        return result;
    }

    int? CheckTruncateDim(int? dim) => dim switch
    {
        null => null,
        < 1 => throw new EncoderKitException(ErrorKind.BadInput, $"truncate_dim must be at least 1, got {dim}", field: "truncate_dim"),
        _ when dim > FullDimension => throw new EncoderKitException(ErrorKind.BadInput,
            $"truncate_dim {dim} is more than the model's {FullDimension} dimensions", field: "truncate_dim"),
        _ => dim,
    };

    /// <summary>
    /// As sentence-transformers: the configured length, else min(config max_position_embeddings, tokenizer
    /// model_max_length); then never past the encoder's learned positions.
    /// </summary>
    int? EffectiveMaxSeqLength(int? configured)
    {
        if (configured is <= 0) throw new EncoderKitException(ErrorKind.BadInput, $"max_seq_length must be positive, got {configured}", field: "max_seq_length");
        int? fromModel = Model.Config.IntOrNull("max_position_embeddings") ?? Model.Config.IntOrNull("n_positions");
        int? length = configured ?? (fromModel, Tokenizer.ModelMaxLength) switch
        {
            (int a, int b) => Math.Min(a, b),
            (int a, null) => a,
            (null, int b) => b,
            _ => null,
        };
        int positions = Model.Spec.Embeddings.MaxPositions;
        if (positions > 0 && length > positions)
        {
            _logger.LogWarning("max_seq_length {Length} is more than the encoder's {Positions} positions; using {Positions}", length, positions, positions);
            length = positions;
        }
        return length;
    }

    /// <summary>Fails encodings still waiting (<see cref="ObjectDisposedException"/>), waits for the batch in flight, then frees the modules.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _runner.Dispose();
        Modules.Dispose();
    }
}

/// <summary>The sentence-level settings a model folder carries (or a caller supplies with <see cref="SentenceEncoder.Create"/>).</summary>
public sealed record SentenceEncoderSettings(
    int? MaxSeqLength = null,
    bool DoLowerCase = false,
    IReadOnlyDictionary<string, string>? Prompts = null,
    string? DefaultPromptName = null,
    SimilarityFunction? SimilarityFunction = null);
