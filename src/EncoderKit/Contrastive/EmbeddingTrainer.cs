using System.Globalization;
using EncoderKit.Compute;
using EncoderKit.Evaluation;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;
using EncoderKit.Tokenization;
using EncoderKit.Training;
using static TorchSharp.torch;

namespace EncoderKit.Contrastive;

/// <summary>The contrastive losses <c>train-embeddings</c> offers.</summary>
public enum ContrastiveLossKind
{
    /// <summary>MultipleNegativesRankingLoss: in-batch and hard negatives.</summary>
    Mnrl,

    /// <summary>MultipleNegativesSymmetricRankingLoss.</summary>
    MnrlSymmetric,

    /// <summary>CachedMultipleNegativesRankingLoss: MNRL through GradCache, in mini-batches.</summary>
    CachedMnrl,

    /// <summary>CoSENTLoss over scored pairs.</summary>
    CoSent,
}

/// <summary>A prompt given as its text ("search_query: ") or as the name of one of the model's prompts.</summary>
public sealed record PromptChoice(string? Text = null, string? Name = null)
{
    /// <summary>The prompt's text: <see cref="Text"/>, or the model's prompt called <see cref="Name"/>; null for none.</summary>
    public string? Resolve(IReadOnlyDictionary<string, string> prompts, string field)
    {
        if (Text is not null && Name is not null) throw new EncoderKitException(ErrorKind.BadInput, "give the prompt's text or its name, not both", field: field);
        if (Name is null) return Text;
        return prompts.TryGetValue(Name, out string? text) ? text
            : throw new EncoderKitException(ErrorKind.BadInput, $"'{Name}' is not one of the model's prompts ({string.Join(", ", prompts.Keys.DefaultIfEmpty("it has none"))})", field: field + "-name");
    }
}

/// <summary>Everything a contrastive training run needs, as <c>encoderkit train-embeddings</c> takes it.</summary>
/// <param name="Model">The base model's folder: a sentence-transformers folder, or a plain encoder (then mean-pooled).</param>
public sealed record EmbeddingTrainingSettings(string Model, string TrainFile, TrainingRunOptions Training)
{
    public ContrastiveLossKind Loss { get; init; } = ContrastiveLossKind.Mnrl;

    /// <summary>Rows per GradCache mini-batch (cached MNRL).</summary>
    public int MiniBatchSize { get; init; } = 32;

    /// <summary>Train every width at once (MatryoshkaLoss); null trains the full width only.</summary>
    public MatryoshkaDimensions? Matryoshka { get; init; }

    /// <summary>The anchors' (and sentence1's) prompt, saved as the output's "query" prompt.</summary>
    public PromptChoice QueryPrompt { get; init; } = new();

    /// <summary>The positives', hard negatives' (and sentence2's) prompt, saved as the output's "document" prompt.</summary>
    public PromptChoice DocumentPrompt { get; init; } = new();

    public ContrastiveColumns Columns { get; init; } = new();

    /// <summary>Keep rows sharing a text out of one batch (they would be each other's false negatives).</summary>
    public bool NoDuplicates { get; init; }

    /// <summary>Most tokens per text; null keeps the model's max_seq_length. Saved in the output.</summary>
    public int? MaxSeqLength { get; init; }

    /// <summary>A BEIR folder evaluated during training: corpus.jsonl, queries.jsonl, qrels/<see cref="ValidationSplit"/>.tsv.</summary>
    public string? ValidationFolder { get; init; }

    public string ValidationSplit { get; init; } = "dev";

    /// <summary>The metric that picks the best checkpoint (<see cref="RetrievalValidation.Metrics"/>, optionally with a width suffix).</summary>
    public string MainMetric { get; init; } = "ndcg_at_10";

    public ComputeOptions? Compute { get; init; }

    /// <summary>Continue a run: "latest", or a checkpoint's name or path; null starts afresh.</summary>
    public string? Resume { get; init; }
}

/// <summary>
/// A contrastive training run from data files to a sentence-transformers folder, as sentence-transformers trains
/// (MultipleNegativesRankingLoss and friends): reads and checks all data first, embeds each batch's columns with the
/// model's own pooling, prompts and truncation, trains the encoder with <see cref="TrainingRun{TExample}"/> (resume,
/// checkpoints, best model, log), with modules.json, the pooling config and the prompts beside the weights in every
/// checkpoint, the best and the output, so each loads as a sentence-transformers model.
/// </summary>
/// <remarks>
/// Only the transformer is trained: a model with Dense or LayerNorm modules after pooling is refused, since their
/// weights would be neither updated nor checkpointed.
/// </remarks>
public static class EmbeddingTrainer
{
    /// <summary>One training row tokenized: a text per column, its source and gold score.</summary>
    public sealed record Example(IReadOnlyList<TokenizedText> Columns, double Score)
    {
        internal int Tokens => Columns.Sum(c => c.Ids.Length);
    }

    public static async Task<TrainingSummary> RunAsync(EmbeddingTrainingSettings settings, Action<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        settings.Training.Validate();
        if (settings.MiniBatchSize < 1) throw new EncoderKitException(ErrorKind.BadInput, $"mini-batch size {settings.MiniBatchSize} is not ≥ 1", field: "--mini-batch-size");
        if (settings.MaxSeqLength is < 2) throw new EncoderKitException(ErrorKind.BadInput, $"max length {settings.MaxSeqLength} is not ≥ 2", field: "--max-length");
        SentenceTransformerConfig config = SentenceTransformerConfig.Read(settings.Model);
        if (config.Modules.Skip(2).FirstOrDefault(m => m.Kind is SentenceModuleKind.Dense or SentenceModuleKind.LayerNorm) is { } trainable)
            throw new EncoderKitException(ErrorKind.BadInput,
                $"the model has a {trainable.Kind} module ('{trainable.Path}') after pooling; train-embeddings trains the transformer only, so it takes models whose modules are Transformer, Pooling and Normalize",
                config.Folder, "modules.json");
        bool scored = settings.Loss == ContrastiveLossKind.CoSent;
        string? queryPrompt = settings.QueryPrompt.Resolve(config.Prompts, "--query-prompt");
        string? documentPrompt = settings.DocumentPrompt.Resolve(config.Prompts, "--document-prompt");
        string[] prompts = scored ? [queryPrompt ?? "", documentPrompt ?? ""] : [queryPrompt ?? "", documentPrompt ?? "", documentPrompt ?? ""];

        IReadOnlyList<ContrastiveRow> rows = await ContrastiveData.ReadAsync(settings.TrainFile, scored, settings.Columns, cancellationToken).ConfigureAwait(false);
        if (!scored && rows.Count < 2) throw new EncoderKitException(ErrorKind.BadInput, "in-batch negatives need at least two rows", settings.TrainFile);
        RetrievalData? validation = settings.ValidationFolder is { } v ? EmbeddingTaskData.ReadBeir(v, settings.ValidationSplit) : null;

        string output = settings.Training.OutputFolder;
        string? checkpoint = TrainingRuns.CheckpointToResume(output, settings.Resume);
        using EncoderModel model = EncoderModel.Load(checkpoint ?? config.TransformerFolder, settings.Compute);
        var outputPrompts = new Dictionary<string, string>(config.Prompts);
        if (queryPrompt is not null) outputPrompts["query"] = queryPrompt;
        if (documentPrompt is not null) outputPrompts["document"] = documentPrompt;
        var sentenceSettings = new SentenceEncoderSettings(settings.MaxSeqLength ?? config.MaxSeqLength, config.DoLowerCase, outputPrompts, config.DefaultPromptName, config.SimilarityFunction);
        bool normalize = config.Modules.Count > 2 && config.Modules[^1].Kind == SentenceModuleKind.Normalize;
        using SentenceEncoder encoder = SentenceEncoder.Create(model, model.Tokenizer, config.Pooling, normalize ? [new NormalizeLayer()] : [], sentenceSettings);
        if (settings.Matryoshka?.Dimensions.FirstOrDefault(d => d > encoder.FullDimension) is int wide and > 0)
            throw new EncoderKitException(ErrorKind.BadInput, $"Matryoshka dimension {wide} is wider than the model's {encoder.FullDimension}", field: "--matryoshka-dims");
        string[] metrics = [.. RetrievalValidation.Metrics.SelectMany(m => new[] { m }.Concat(
            (settings.Matryoshka?.Dimensions ?? []).Where(d => d < encoder.FullDimension).Select(d => $"{m}_dim_{d.ToString(CultureInfo.InvariantCulture)}")))];
        if (validation is not null && !metrics.Contains(settings.MainMetric))
            throw new EncoderKitException(ErrorKind.BadInput, $"'{settings.MainMetric}' is not a metric the validation gives ({string.Join(", ", metrics)})", field: "--metric-for-best");

        var encodeOptions = new EncodeOptions { MaxLength = encoder.MaxSeqLength };
        int[] promptLengths = [.. prompts.Select(p => encoder.PromptLength(p, encodeOptions))];
        Example[] examples = [.. rows.Select(row => new Example(
            [.. row.Texts.Select((text, c) => Tokenize(encoder, prompts[Math.Min(c, prompts.Length - 1)], text, encodeOptions))], row.Score))];
        long padId = model.Tokenizer.PadTokenId ?? model.Config.IntOrNull("pad_token_id") ?? 0;
        IReadOnlyList<string>? datasets = rows[0].Dataset is null ? null : [.. rows.Select(r => r.Dataset!)];

        ColumnLoss loss = Loss(settings.Loss, settings.Matryoshka);
        Batch Column(IReadOnlyList<Example> batch, int column) =>
            new([.. batch.Select(e => e.Columns[column])], [.. Enumerable.Range(0, batch.Count)], padId);
        SentenceModel Embedder(EncoderModel compute) =>
            ReferenceEquals(compute, model) ? encoder.Modules : new SentenceModel(compute, encoder.Pooling, [], ownsTransformer: false);
        int PromptLength(int column) => promptLengths[Math.Min(column, promptLengths.Length - 1)];
        // Both forms back-propagate here, so one run takes either: GradCache in pieces, the plain loss at once (1/N for accumulation).
        BackwardObjective<IReadOnlyList<Example>> objective = settings.Loss == ContrastiveLossKind.CachedMnrl
            ? (compute, batch, microBatches) =>
            {
                SentenceModel embedder = Embedder(compute);
                var columns = Enumerable.Range(0, batch[0].Columns.Count).Select(c => (IReadOnlyList<(Batch Batch, int PromptLength)>)
                    [.. batch.Chunk(settings.MiniBatchSize).Select(part => (Column(part, c), PromptLength(c)))]).ToList();
                return GradCache.Backward(columns, part => embedder.ForwardWithGradients(part.Batch, part.PromptLength), embeddings => loss(embeddings, batch), microBatches);
            }
            : (compute, batch, microBatches) =>
            {
                SentenceModel embedder = Embedder(compute);
                Tensor[] embeddings = [.. Enumerable.Range(0, batch[0].Columns.Count).Select(c => embedder.ForwardWithGradients(Column(batch, c), PromptLength(c)))];
                Tensor value = loss(embeddings, batch);
                (value / microBatches).backward();
                return value.to_type(ScalarType.Float32).item<float>();
            };
        IReadOnlyList<int> widths = settings.Matryoshka?.Dimensions ?? [];
        var run = new TrainingRun<Example>(model, examples, objective, settings.Training with { ResumeFrom = checkpoint })
        {
            BatchOrder = order => ContrastiveBatches.Epoch([.. rows.Select(r => r.Texts)], settings.Training.BatchSize, order, datasets, settings.NoDuplicates),
            Evaluate = validation is null ? null : _ => RetrievalValidation.Evaluate(encoder, validation, widths, queryPrompt, documentPrompt, cancellationToken),
            MainMetric = settings.MainMetric,
            TokenCount = e => e.Tokens,
            Progress = progress,
            SaveBesideModel = folder => encoder.Modules.SaveModules(folder, sentenceSettings),
        };
        return run.Run(cancellationToken);
    }

    /// <summary>The loss over a batch's column embeddings ([B, D] each).</summary>
    delegate Tensor ColumnLoss(IReadOnlyList<Tensor> embeddings, IReadOnlyList<Example> batch);

    static ColumnLoss Loss(ContrastiveLossKind kind, MatryoshkaDimensions? matryoshka) => (embeddings, batch) =>
    {
        Func<IReadOnlyList<Tensor>, Tensor> single = kind switch
        {
            ContrastiveLossKind.Mnrl or ContrastiveLossKind.CachedMnrl => columns => ContrastiveLoss.MultipleNegativesRanking(columns),
            ContrastiveLossKind.MnrlSymmetric => columns => ContrastiveLoss.MultipleNegativesRanking(columns, symmetric: true),
            ContrastiveLossKind.CoSent => columns =>
            {
                using Tensor scores = tensor(batch.Select(e => (float)e.Score).ToArray(), device: columns[0].device);
                return ContrastiveLoss.CoSent(columns[0], columns[1], scores);
            },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        return matryoshka is null ? single(embeddings) : ContrastiveLoss.Matryoshka(single, embeddings, matryoshka);
    };

    static TokenizedText Tokenize(SentenceEncoder encoder, string prompt, string text, EncodeOptions options)
    {
        Encoding encoding = encoder.Tokenizer.Encode(encoder.Prepare(prompt, text), null, options);
        return new TokenizedText(encoding.Ids, encoding.TypeIds);
    }

    /// <summary>The loss names the command line takes: mnrl, mnrl-symmetric, cached-mnrl, cosent.</summary>
    public static ContrastiveLossKind ParseLoss(string name) => name switch
    {
        "mnrl" => ContrastiveLossKind.Mnrl,
        "mnrl-symmetric" => ContrastiveLossKind.MnrlSymmetric,
        "cached-mnrl" => ContrastiveLossKind.CachedMnrl,
        "cosent" => ContrastiveLossKind.CoSent,
        _ => throw new EncoderKitException(ErrorKind.BadInput, $"unknown loss '{name}' (mnrl, mnrl-symmetric, cached-mnrl, cosent)", field: "--loss"),
    };
}
