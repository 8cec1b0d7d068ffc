using EncoderKit.Hub;
using EncoderKit.Modeling;
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
/// <para>Thread-safe: tokenization runs on the caller's thread, forward passes one at a time.</para>
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
    readonly IReadOnlyList<IEmbeddingLayer> _layers;
    readonly bool _ownsModel;
    readonly object _gate = new();
    readonly ILogger _logger;
    readonly long _padId;
    bool _disposed;

    SentenceEncoder(string modelId, string folder, IReadOnlyList<string> sourceFolders, EncoderModel model, Tokenizer tokenizer, PoolingConfig pooling,
        IReadOnlyList<IEmbeddingLayer> layers, bool normalizes, SentenceEncoderSettings settings, SentenceEncoderOptions options, bool ownsModel)
    {
        ModelId = modelId;
        Folder = folder;
        SourceFolders = sourceFolders;
        Model = model;
        Tokenizer = tokenizer;
        Pooling = pooling;
        _ownsModel = ownsModel;
        _logger = options.Logger ?? NullLogger.Instance;
        Prompts = settings.Prompts ?? new Dictionary<string, string>();
        DefaultPromptName = settings.DefaultPromptName;
        SimilarityFunction = settings.SimilarityFunction ?? SimilarityFunction.Cosine;
        DoLowerCase = settings.DoLowerCase;
        BatchSize = options.BatchSize >= 1 ? options.BatchSize
            : throw new EncoderKitException(ErrorKind.BadInput, $"batch size must be at least 1, got {options.BatchSize}", field: "batch_size");
        _padId = tokenizer.PadTokenId ?? model.Config.IntOrNull("pad_token_id") ?? 0;

        if (pooling.WordEmbeddingDimension != model.Spec.Hidden)
            throw new EncoderKitException(ErrorKind.BadConfig,
                $"pooling over {pooling.WordEmbeddingDimension} dimensions, but the encoder's hidden size is {model.Spec.Hidden}", field: "word_embedding_dimension");
        int width = pooling.OutputDimension;
        foreach (IEmbeddingLayer layer in layers) width = layer.OutputDimension(width);
        FullDimension = width;
        // A trailing Normalize is applied after Matryoshka truncation, so it is kept as a flag rather than a layer.
        if (layers.Count > 0 && layers[^1] is NormalizeLayer)
        {
            normalizes = true;
            layers = layers.Take(layers.Count - 1).ToArray();
        }
        _layers = layers;
        NormalizesByDefault = normalizes;
        TruncateDim = CheckTruncateDim(options.TruncateDim);
        MaxSeqLength = EffectiveMaxSeqLength(options.MaxSeqLength ?? settings.MaxSeqLength);
    }

    /// <summary>What the encoder was loaded from (hub id or folder).</summary>
    public string ModelId { get; }

    /// <summary>The model folder (the sentence-transformers root, which may hold the encoder in a subfolder).</summary>
    public string Folder { get; }

    /// <summary>The folders whose files make up the model: the root, the encoder's, and each module's.</summary>
    public IReadOnlyList<string> SourceFolders { get; }

    public EncoderModel Model { get; }

    /// <summary>Device and dtype the encoder computes in ("cpu/Float32"): part of what decides the vectors.</summary>
    public string ComputeDescription => $"{Model.Device.type}/{Model.Network.parameters().First().dtype}";

    public Tokenizer Tokenizer { get; }

    public PoolingConfig Pooling { get; }

    /// <summary>The modules after pooling, in order (a final Normalize is not among them: see <see cref="NormalizesByDefault"/>).</summary>
    public IReadOnlyList<IEmbeddingLayer> Layers => _layers;

    /// <summary>Whether the model's modules end in Normalize.</summary>
    public bool NormalizesByDefault { get; }

    /// <summary>Width of the vectors the modules produce, before any truncation.</summary>
    public int FullDimension { get; }

    /// <summary>Default Matryoshka width; null keeps <see cref="FullDimension"/>.</summary>
    public int? TruncateDim { get; }

    /// <summary>Width of the vectors <see cref="Encode(IReadOnlyList{string}, string?, string?, EmbedOptions?, CancellationToken)"/> returns by default.</summary>
    public int Dimension => TruncateDim ?? FullDimension;

    /// <summary>Inputs are truncated to this many tokens (special tokens included); null when nothing bounds them.</summary>
    public int? MaxSeqLength { get; }

    public bool DoLowerCase { get; }

    public int BatchSize { get; }

    /// <summary>Named prompts from config_sentence_transformers.json (e.g. "query" → "query: ").</summary>
    public IReadOnlyDictionary<string, string> Prompts { get; }

    public string? DefaultPromptName { get; }

    /// <summary>The model's similarity_fn_name, cosine when it names none.</summary>
    public SimilarityFunction SimilarityFunction { get; }

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
        ILogger logger = options.Logger ?? NullLogger.Instance;
        EncoderModel model = EncoderModel.Load(config.TransformerFolder, options.Compute);
        var layers = new List<IEmbeddingLayer>();
        try
        {
            Tokenizer tokenizer = model.Tokenizer;
            PoolingConfig pooling = config.Pooling ?? PoolingConfig.Mean(model.Spec.Hidden);
            if (!config.IsSentenceTransformers)
                logger.LogInformation("{Folder}: no {ModulesFile}, so this is not a sentence-transformers model; using mean pooling, as sentence-transformers does",
                    folder, SentenceTransformerConfig.ModulesFile);
            foreach (SentenceModule module in config.Modules.Skip(2))
            {
                layers.Add(module.Kind switch
                {
                    SentenceModuleKind.Dense => DenseLayer.Load(module.FolderIn(folder), module.Name, model.Device),
                    SentenceModuleKind.LayerNorm => LayerNormLayer.Load(module.FolderIn(folder), module.Name, model.Device),
                    SentenceModuleKind.Normalize => new NormalizeLayer(module.Name),
                    _ => throw new InvalidOperationException($"module kind {module.Kind} after pooling"),
                });
            }
            var settings = new SentenceEncoderSettings(config.MaxSeqLength, config.DoLowerCase, config.Prompts, config.DefaultPromptName, config.SimilarityFunction);
            string[] sources = new[] { folder, config.TransformerFolder }.Concat(config.Modules.Skip(1).Select(m => m.FolderIn(folder)))
                .Where(Directory.Exists).Select(Path.GetFullPath).Distinct().ToArray();
            return new SentenceEncoder(modelId, folder, sources, model, tokenizer, pooling, layers, normalizes: false, settings, options, ownsModel: true);
        }
        catch
        {
            foreach (IEmbeddingLayer layer in layers) layer.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An encoder over parts already in hand (random weights for benchmarks, a model being trained). The encoder does
    /// not dispose <paramref name="model"/>; it disposes <paramref name="layers"/>.
    /// </summary>
    public static SentenceEncoder Create(EncoderModel model, Tokenizer tokenizer, PoolingConfig? pooling = null,
        IReadOnlyList<IEmbeddingLayer>? layers = null, SentenceEncoderSettings? settings = null, SentenceEncoderOptions? options = null) =>
        new(model.Folder, model.Folder, [model.Folder], model, tokenizer, pooling ?? PoolingConfig.Mean(model.Spec.Hidden), layers ?? [], normalizes: false,
            settings ?? new SentenceEncoderSettings(), options ?? new SentenceEncoderOptions(), ownsModel: false);

    /// <summary>Embeds <paramref name="texts"/>, returning one vector per text in input order.</summary>
    /// <param name="promptName">A key of <see cref="Prompts"/>; without it and <paramref name="prompt"/>, the default prompt (if any) applies.</param>
    /// <param name="prompt">A literal prefix ("search_query: "); wins over <paramref name="promptName"/>.</param>
    public float[][] Encode(IReadOnlyList<string> texts, string? promptName = null, string? prompt = null, EmbedOptions? options = null,
        CancellationToken cancellationToken = default) =>
        EncodeTexts(texts, promptName, prompt, options ?? EmbedOptions.Default, cancellationToken).Embeddings;

    /// <summary>Embeds one text.</summary>
    public float[] Encode(string text, string? promptName = null, string? prompt = null, EmbedOptions? options = null) =>
        Encode([text], promptName, prompt, options)[0];

    /// <summary>As <see cref="Encode(IReadOnlyList{string}, string?, string?, EmbedOptions?, CancellationToken)"/>, on a worker thread; cancellation is checked between batches.</summary>
    public Task<float[][]> EncodeAsync(IReadOnlyList<string> texts, string? promptName = null, string? prompt = null, EmbedOptions? options = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Encode(texts, promptName, prompt, options, cancellationToken), cancellationToken);

    /// <summary>Embeds, then quantizes all the vectors together (int8/uint8 ranges come from this set unless given).</summary>
    public QuantizedEmbeddings EncodeQuantized(IReadOnlyList<string> texts, EmbeddingPrecision precision, string? promptName = null,
        string? prompt = null, EmbedOptions? options = null, float[][]? ranges = null, CancellationToken cancellationToken = default)
    {
        float[][] embeddings = Encode(texts, promptName, prompt, options, cancellationToken);
        if (precision is EmbeddingPrecision.Int8 or EmbeddingPrecision.UInt8 && ranges is null && embeddings.Length < EmbeddingQuantizer.FewEmbeddingsForRanges)
            _logger.LogWarning("{Precision} buckets computed from only {Count} embeddings; ranges from more embeddings are more stable",
                EmbeddingQuantizer.Name(precision), embeddings.Length);
        return EmbeddingQuantizer.Quantize(embeddings, precision, ranges);
    }

    /// <summary>
    /// Embeds inputs already tokenized (special tokens included). <paramref name="promptLength"/> is what pooling
    /// without the prompt leaves out (the prompt's token count with special tokens, minus one, as the library counts).
    /// </summary>
    public float[][] EncodeTokens(IReadOnlyList<TokenizedText> inputs, int promptLength = 0, EmbedOptions? options = null,
        CancellationToken cancellationToken = default) =>
        Run(inputs, promptLength, options ?? EmbedOptions.Default, cancellationToken);

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

    internal sealed record Outcome(float[][] Embeddings, long Tokens, int Truncated);

    internal Outcome EncodeTexts(IReadOnlyList<string> texts, string? promptName, string? prompt, EmbedOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(_disposed, this);
        string? resolved = ResolvePrompt(promptName, prompt);
        var prepared = new string[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            string text = texts[i] ?? throw new ArgumentException($"text {i} is null", nameof(texts));
            prepared[i] = TextPreparation.Prepare(resolved + text, DoLowerCase);
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
        // sentence-transformers counts the prompt alone with its special tokens, minus one (the closing one).
        int promptLength = string.IsNullOrEmpty(resolved) ? 0 : Tokenizer.Encode(TextPreparation.Prepare(resolved, DoLowerCase), null, encodeOptions).Length - 1;
        var inputs = encodings.Select(e => new TokenizedText(e.Ids, e.TypeIds)).ToArray();
        float[][] embeddings = Run(inputs, Math.Max(0, promptLength), options, cancellationToken);
        return new Outcome(embeddings, inputs.Sum(x => (long)x.Ids.Length), truncated);
    }

    float[][] Run(IReadOnlyList<TokenizedText> inputs, int promptLength, EmbedOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int? truncateDim = CheckTruncateDim(options.TruncateDim ?? TruncateDim);
        bool normalize = options.Normalize ?? NormalizesByDefault;
        var lengths = inputs.Select(x => x.Ids.Length).ToArray();
        var result = new float[inputs.Count][];
        int done = 0;
        foreach (int[] batch in LengthBatching.Plan(lengths, options.BatchSize ?? BatchSize, options.SortByLength))
        {
            cancellationToken.ThrowIfCancellationRequested();
            float[][] rows = RunBatch(batch.Select(i => inputs[i]).ToArray(), promptLength, truncateDim, normalize);
            for (int j = 0; j < batch.Length; j++) result[batch[j]] = rows[j];
            done += batch.Length;
            options.Progress?.Report(done);
        }
        return result;
    }

    /// <summary>One padded forward pass and everything after it. B batch, L longest length, H hidden, D output width.</summary>
    float[][] RunBatch(TokenizedText[] batch, int promptLength, int? truncateDim, bool normalize)
    {
        int rows = batch.Length;
        int length = Math.Max(1, batch.Max(x => x.Ids.Length));
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        long[]? types = null;
        bool padded = false;
        for (int r = 0; r < rows; r++)
        {
            TokenizedText input = batch[r];
            if (input.TypeIds is { } t && t.Length != input.Ids.Length)
                throw new EncoderKitException(ErrorKind.BadInput, $"{t.Length} token type ids for {input.Ids.Length} ids", field: "token_type_ids");
            for (int c = 0; c < length; c++)
            {
                int at = r * length + c;
                bool real = c < input.Ids.Length;
                padded |= !real;
                ids[at] = real ? input.Ids[c] : _padId;
                mask[at] = real ? 1 : 0;
                if (real && input.TypeIds is { } typeIds && typeIds[c] != 0) (types ??= new long[rows * length])[at] = typeIds[c];
            }
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            using var inference = inference_mode();
            using var scope = NewDisposeScope();
            Tensor idsTensor = tensor(ids, [rows, length]);                       // [B, L]
            Tensor maskTensor = tensor(mask, [rows, length]);                     // [B, L]
            Tensor? typesTensor = types is null ? null : tensor(types, [rows, length]);
            EncoderOutputs outputs = Model.Forward(idsTensor, padded ? maskTensor : null, typesTensor, Outputs.LastHiddenState);
            Tensor hidden = outputs.LastHiddenState.to_type(ScalarType.Float32); // [B, L, H]
            Tensor embeddings = SentenceEmbeddings.Pooling.Pool(hidden, maskTensor, Pooling, promptLength);   // [B, P]
            foreach (IEmbeddingLayer layer in _layers) embeddings = layer.Forward(embeddings);       // [B, D]
            if (truncateDim is int dim && dim < embeddings.shape[1]) embeddings = embeddings.narrow(1, 0, dim);
            if (normalize) embeddings = SentenceEmbeddings.Pooling.Normalize(embeddings);
            Tensor cpu = embeddings.to(CPU).contiguous();
            float[] flat = cpu.data<float>().ToArray();
            int width = (int)cpu.shape[1];
            var result = new float[rows][];
            for (int r = 0; r < rows; r++) result[r] = flat.AsSpan(r * width, width).ToArray();
            return result;
        }
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

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (IEmbeddingLayer layer in _layers) layer.Dispose();
            if (_ownsModel) Model.Dispose();
        }
    }
}

/// <summary>The sentence-level settings a model folder carries (or a caller supplies with <see cref="SentenceEncoder.Create"/>).</summary>
public sealed record SentenceEncoderSettings(
    int? MaxSeqLength = null,
    bool DoLowerCase = false,
    IReadOnlyDictionary<string, string>? Prompts = null,
    string? DefaultPromptName = null,
    SimilarityFunction? SimilarityFunction = null);
