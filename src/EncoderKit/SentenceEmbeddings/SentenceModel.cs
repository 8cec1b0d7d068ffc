using System.Globalization;
using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Runtime;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// The sentence-transformers modules of a model, in modules.json order: the Transformer (the encoder), Pooling, then
/// any Dense and LayerNorm modules, and a final Normalize when the model has one. Token ids in, sentence vectors out;
/// what texts become ids, batching, Matryoshka width and normalisation on request are the pipeline's
/// (<see cref="SentenceEncoder"/>).
/// </summary>
public sealed class SentenceModel : IDisposable
{
    readonly bool _ownsTransformer;

    /// <param name="layers">The modules after Pooling; a trailing <see cref="NormalizeLayer"/> becomes <see cref="EndsWithNormalize"/>.</param>
    /// <param name="ownsTransformer">Whether disposing this disposes <paramref name="transformer"/> (the layers are always disposed).</param>
    public SentenceModel(EncoderModel transformer, PoolingConfig pooling, IReadOnlyList<IEmbeddingLayer> layers, bool ownsTransformer)
    {
        ArgumentNullException.ThrowIfNull(transformer);
        ArgumentNullException.ThrowIfNull(pooling);
        ArgumentNullException.ThrowIfNull(layers);
        if (pooling.WordEmbeddingDimension != transformer.Spec.Hidden)
            throw new EncoderKitException(ErrorKind.BadConfig,
                $"pooling over {pooling.WordEmbeddingDimension} dimensions, but the encoder's hidden size is {transformer.Spec.Hidden}", field: "word_embedding_dimension");
        int width = pooling.OutputDimension;
        foreach (IEmbeddingLayer layer in layers) width = layer.OutputDimension(width);
        Dimension = width;
        // A trailing Normalize runs after Matryoshka truncation, so it is kept as a flag rather than a layer.
        if (layers.Count > 0 && layers[^1] is NormalizeLayer)
        {
            EndsWithNormalize = true;
            layers = layers.Take(layers.Count - 1).ToArray();
        }
        Transformer = transformer;
        Pooling = pooling;
        Layers = layers;
        _ownsTransformer = ownsTransformer;
    }

    public EncoderModel Transformer { get; }

    public PoolingConfig Pooling { get; }

    /// <summary>The modules after pooling, in order (a final Normalize is not among them: see <see cref="EndsWithNormalize"/>).</summary>
    public IReadOnlyList<IEmbeddingLayer> Layers { get; }

    /// <summary>Whether the model's modules end in Normalize.</summary>
    public bool EndsWithNormalize { get; }

    /// <summary>Width of the vectors the modules produce.</summary>
    public int Dimension { get; }

    /// <summary>Loads the modules <paramref name="config"/> lists (a plain folder: the encoder, mean pooled, with a notice).</summary>
    /// <param name="pooling">A pooling mode in place of the model's (its prompt setting kept); null keeps the model's.</param>
    public static SentenceModel Load(SentenceTransformerConfig config, ComputeOptions? compute = null, ILogger? logger = null, PoolingMode? pooling = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        EncoderModel transformer = EncoderModel.Load(config.TransformerFolder, compute);
        var layers = new List<IEmbeddingLayer>();
        try
        {
            if (!config.IsSentenceTransformers)
                logger?.LogInformation("{Folder}: no {ModulesFile}, so this is not a sentence-transformers model; using mean pooling, as sentence-transformers does",
                    config.Folder, SentenceTransformerConfig.ModulesFile);
            foreach (SentenceModule module in config.Modules.Skip(2))
            {
                layers.Add(module.Kind switch
                {
                    SentenceModuleKind.Dense => DenseLayer.Load(module.FolderIn(config.Folder), module.Name, transformer.Device),
                    SentenceModuleKind.LayerNorm => LayerNormLayer.Load(module.FolderIn(config.Folder), module.Name, transformer.Device),
                    SentenceModuleKind.Normalize => new NormalizeLayer(module.Name),
                    _ => throw new InvalidOperationException($"module kind {module.Kind} after pooling"),
                });
            }
            PoolingConfig configured = config.Pooling ?? PoolingConfig.Mean(transformer.Spec.Hidden);
            if (pooling is PoolingMode mode) configured = new PoolingConfig(configured.WordEmbeddingDimension, [mode], configured.IncludePrompt);
            return new SentenceModel(transformer, configured, layers, ownsTransformer: true);
        }
        catch
        {
            foreach (IEmbeddingLayer layer in layers) layer.Dispose();
            transformer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One batch through the modules. The encoder computes in its own dtype; pooling and the modules after it in float32.
    /// B rows, L longest length, H hidden, D <see cref="Dimension"/>.
    /// </summary>
    /// <param name="promptLength">Positions pooling leaves out when the Pooling module excludes the prompt.</param>
    /// <returns>[B, D] float32 on the model's device, before any truncation and before a final Normalize.</returns>
    public Tensor Forward(Batch batch, int promptLength = 0) =>
        Run(batch, promptLength, (ids, mask, types) => Transformer.Forward(ids, mask, types, Outputs.LastHiddenState));

    /// <summary>
    /// <see cref="Forward"/> recording the graph for back-propagation, in the encoder's current mode (dropout in
    /// training mode): how contrastive training embeds.
    /// </summary>
    public Tensor ForwardWithGradients(Batch batch, int promptLength = 0) =>
        Run(batch, promptLength, (ids, mask, types) => Transformer.Network.Forward(ids.to(Transformer.Device), mask?.to(Transformer.Device), types?.to(Transformer.Device), Outputs.LastHiddenState));

    Tensor Run(Batch batch, int promptLength, Func<Tensor, Tensor?, Tensor?, EncoderOutputs> encode)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        Tensor mask = batch.AttentionMaskTensor();                                                    // [B, L]
        EncoderOutputs outputs = encode(batch.InputIdsTensor(), batch.IsPadded ? mask : null, batch.TokenTypeIdsTensor());
        Tensor hidden = outputs.LastHiddenState.to_type(ScalarType.Float32);                         // [B, L, H]
        Tensor embeddings = SentenceEmbeddings.Pooling.Pool(hidden, mask.to(hidden.device), Pooling, promptLength);   // [B, P]
        foreach (IEmbeddingLayer layer in Layers) embeddings = layer.Forward(embeddings);             // [B, D]
        return embeddings.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Writes the modules as a sentence-transformers folder that <see cref="Load"/> and Python's SentenceTransformer
    /// both read: the encoder at the top (<see cref="EncoderModel.Save"/>), then 1_Pooling, each later module in its
    /// numbered folder, modules.json, sentence_bert_config.json and config_sentence_transformers.json with
    /// <paramref name="settings"/>' prompts and similarity function.
    /// </summary>
    public void Save(string folder, SentenceEncoderSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Transformer.Save(folder);
        SaveModules(folder, settings);
    }

    /// <summary>
    /// <see cref="Save"/> without the encoder's own files: for a folder that already holds the encoder's weights (a
    /// training run's checkpoints, its best, and its output).
    /// </summary>
    public void SaveModules(string folder, SentenceEncoderSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var modules = new JsonArray();
        void Add(string path, string type)
        {
            int index = modules.Count;
            modules.Add(new JsonObject { ["idx"] = index, ["name"] = index.ToString(CultureInfo.InvariantCulture), ["path"] = path, ["type"] = "sentence_transformers.models." + type });
        }
        Add("", "Transformer");
        Directory.CreateDirectory(Path.Combine(folder, "1_Pooling"));
        AtomicFile.WriteJson(Path.Combine(folder, "1_Pooling", "config.json"), Pooling.ToJson());
        Add("1_Pooling", "Pooling");
        IEnumerable<IEmbeddingLayer> layers = EndsWithNormalize ? Layers.Append(new NormalizeLayer()) : Layers;
        foreach (IEmbeddingLayer layer in layers)
        {
            string type = layer switch
            {
                DenseLayer => "Dense",
                LayerNormLayer => "LayerNorm",
                NormalizeLayer => "Normalize",
                _ => throw new NotSupportedException($"saving a {layer.GetType().Name} module"),
            };
            string path = $"{modules.Count}_{type}";
            layer.Save(Path.Combine(folder, path));
            Add(path, type);
        }
        AtomicFile.WriteJson(Path.Combine(folder, SentenceTransformerConfig.ModulesFile), modules);

        var transformerSettings = new JsonObject();
        if ((settings.MaxSeqLength ?? Transformer.MaxInputTokens) is { } maxLength) transformerSettings["max_seq_length"] = maxLength;
        transformerSettings["do_lower_case"] = settings.DoLowerCase;
        AtomicFile.WriteJson(Path.Combine(folder, "sentence_bert_config.json"), transformerSettings);

        var prompts = new JsonObject();
        foreach (var (name, prompt) in settings.Prompts ?? new Dictionary<string, string>()) prompts[name] = prompt;
        AtomicFile.WriteJson(Path.Combine(folder, SentenceTransformerConfig.SettingsFile), new JsonObject
        {
            ["__version__"] = new JsonObject { ["encoderkit"] = typeof(SentenceModel).Assembly.GetName().Version?.ToString(3) },
            ["prompts"] = prompts,
            ["default_prompt_name"] = settings.DefaultPromptName,
            ["similarity_fn_name"] = Similarity.Name(settings.SimilarityFunction ?? SimilarityFunction.Cosine),
        });
    }

    public void Dispose()
    {
        foreach (IEmbeddingLayer layer in Layers) layer.Dispose();
        if (_ownsTransformer) Transformer.Dispose();
    }
}
