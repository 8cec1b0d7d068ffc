using EncoderKit.IO;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>The module kinds of a sentence-transformers folder that EncoderKit runs.</summary>
public enum SentenceModuleKind { Transformer, Pooling, Dense, LayerNorm, Normalize }

/// <summary>One entry of modules.json: <c>{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}</c>.</summary>
public sealed record SentenceModule(string Name, string Path, string Type, SentenceModuleKind Kind)
{
    /// <summary>The module's folder: the model folder itself for an empty path.</summary>
    public string FolderIn(string modelFolder) => Path.Length == 0 ? modelFolder : System.IO.Path.Combine(modelFolder, Path);
}

/// <summary>
/// What a model folder says about sentence embeddings, read as sentence-transformers reads it: modules.json (the
/// modules, in file order), the Transformer module's sentence_bert_config.json (max_seq_length, do_lower_case),
/// config_sentence_transformers.json (prompts, default_prompt_name, similarity_fn_name) and the Pooling config.
/// A folder without modules.json is a plain Hugging Face model: a Transformer followed by mean pooling.
/// </summary>
public sealed class SentenceTransformerConfig
{
    public const string ModulesFile = ModulesJson.FileName;
    public const string SettingsFile = "config_sentence_transformers.json";

    /// <summary>The Transformer module's config, by the names the library has used over time (first found wins).</summary>
    static readonly string[] TransformerConfigNames =
    [
        "sentence_bert_config.json", "sentence_roberta_config.json", "sentence_distilbert_config.json",
        "sentence_camembert_config.json", "sentence_albert_config.json", "sentence_xlm-roberta_config.json",
        "sentence_xlnet_config.json",
    ];

    static readonly Dictionary<string, SentenceModuleKind> KindsByClass = new()
    {
        ["Transformer"] = SentenceModuleKind.Transformer,
        ["Pooling"] = SentenceModuleKind.Pooling,
        ["Dense"] = SentenceModuleKind.Dense,
        ["LayerNorm"] = SentenceModuleKind.LayerNorm,
        ["Normalize"] = SentenceModuleKind.Normalize,
    };

    public required string Folder { get; init; }

    /// <summary>False for a plain Hugging Face folder (no modules.json): mean pooling is then assumed.</summary>
    public required bool IsSentenceTransformers { get; init; }

    /// <summary>The modules in the order they run.</summary>
    public required IReadOnlyList<SentenceModule> Modules { get; init; }

    /// <summary>Where the encoder's config.json, weights and tokenizer are.</summary>
    public required string TransformerFolder { get; init; }

    /// <summary>sentence_bert_config.json max_seq_length; null when absent (then the model's limits decide).</summary>
    public int? MaxSeqLength { get; init; }

    /// <summary>sentence_bert_config.json do_lower_case: lowercase every text before tokenizing.</summary>
    public bool DoLowerCase { get; init; }

    /// <summary>The Pooling module's config; null for a plain folder, whose mean pooling takes the encoder's width.</summary>
    public PoolingConfig? Pooling { get; init; }

    public IReadOnlyDictionary<string, string> Prompts { get; init; } = new Dictionary<string, string>();

    public string? DefaultPromptName { get; init; }

    /// <summary>similarity_fn_name; null when the model does not say (cosine is then used).</summary>
    public SimilarityFunction? SimilarityFunction { get; init; }

    /// <summary>Reads <paramref name="folder"/>; every malformed file or value is an error naming it.</summary>
    public static SentenceTransformerConfig Read(string folder)
    {
        if (!Directory.Exists(folder)) throw new EncoderKitException(ErrorKind.MissingFile, "model folder not found", folder);
        var (prompts, defaultPrompt, similarity) = ReadSettings(folder);
        string modulesPath = Path.Combine(folder, ModulesFile);
        if (!File.Exists(modulesPath))
        {
            var (maxLength, lower) = ReadTransformerConfig(folder);
            return new SentenceTransformerConfig
            {
                Folder = folder, IsSentenceTransformers = false, TransformerFolder = folder, MaxSeqLength = maxLength, DoLowerCase = lower,
                Modules = [new SentenceModule("0", "", "sentence_transformers.models.Transformer", SentenceModuleKind.Transformer)],
                Prompts = prompts, DefaultPromptName = defaultPrompt, SimilarityFunction = similarity,
            };
        }

        IReadOnlyList<SentenceModule> modules = ReadModules(modulesPath);
        CheckOrder(modules, modulesPath);
        SentenceModule transformer = modules[0];
        string transformerFolder = RequireFolder(transformer, folder, modulesPath);
        var (maxSeqLength, doLowerCase) = ReadTransformerConfig(transformerFolder);
        SentenceModule pooling = modules.First(m => m.Kind == SentenceModuleKind.Pooling);
        string poolingConfig = Path.Combine(RequireFolder(pooling, folder, modulesPath), "config.json");
        return new SentenceTransformerConfig
        {
            Folder = folder, IsSentenceTransformers = true, Modules = modules, TransformerFolder = transformerFolder,
            MaxSeqLength = maxSeqLength, DoLowerCase = doLowerCase, Pooling = PoolingConfig.Load(poolingConfig),
            Prompts = prompts, DefaultPromptName = defaultPrompt, SimilarityFunction = similarity,
        };
    }

    static IReadOnlyList<SentenceModule> ReadModules(string path)
    {
        IReadOnlyList<ModuleEntry> entries = ModulesJson.Read(path);
        var modules = new List<SentenceModule>(entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            ModuleEntry entry = entries[i];
            string className = entry.Type[(entry.Type.LastIndexOf('.') + 1)..];
            if (!entry.Type.StartsWith("sentence_transformers.", StringComparison.Ordinal) || !KindsByClass.TryGetValue(className, out SentenceModuleKind kind))
                throw new EncoderKitException(ErrorKind.BadConfig,
                    $"module type '{entry.Type}' is not supported (supported: sentence-transformers' {string.Join(", ", KindsByClass.Keys)})", path, $"[{i}].type");
            modules.Add(new SentenceModule(entry.Name, entry.Path, entry.Type, kind));
        }
        return modules;
    }

    /// <summary>Transformer first; then one Pooling; then Dense, LayerNorm and Normalize in any order.</summary>
    static void CheckOrder(IReadOnlyList<SentenceModule> modules, string path)
    {
        if (modules.Count == 0 || modules[0].Kind != SentenceModuleKind.Transformer)
            throw new EncoderKitException(ErrorKind.BadConfig, "the first module must be a Transformer", path, "[0].type");
        if (modules.Count < 2 || modules[1].Kind != SentenceModuleKind.Pooling)
            throw new EncoderKitException(ErrorKind.BadConfig, "a Pooling module must follow the Transformer (nothing else makes a sentence vector from token vectors)", path, "[1].type");
        for (int i = 2; i < modules.Count; i++)
            if (modules[i].Kind is SentenceModuleKind.Transformer or SentenceModuleKind.Pooling)
                throw new EncoderKitException(ErrorKind.BadConfig, $"a second {modules[i].Kind} module is not supported", path, $"[{i}].type");
    }

    static string RequireFolder(SentenceModule module, string folder, string modulesPath)
    {
        string dir = module.FolderIn(folder);
        return Directory.Exists(dir) ? dir
            : throw new EncoderKitException(ErrorKind.MissingFile, $"module '{module.Name}' ({module.Kind}) has no folder '{module.Path}'", modulesPath);
    }

    static (int? MaxSeqLength, bool DoLowerCase) ReadTransformerConfig(string folder)
    {
        foreach (string name in TransformerConfigNames)
        {
            string path = Path.Combine(folder, name);
            if (!File.Exists(path)) continue;
            ConfigJson config = ConfigJson.Load(path);
            int? maxLength = config.IntOrNull("max_seq_length");
            if (maxLength is <= 0) throw config.Invalid("max_seq_length", $"must be positive, got {maxLength}");
            return (maxLength, config.Bool("do_lower_case", false));
        }
        return (null, false);
    }

    static (IReadOnlyDictionary<string, string>, string?, SimilarityFunction?) ReadSettings(string folder)
    {
        string path = Path.Combine(folder, SettingsFile);
        if (!File.Exists(path)) return (new Dictionary<string, string>(), null, null);
        ConfigJson config = ConfigJson.Load(path);
        IReadOnlyDictionary<string, string> prompts = config.StringMap("prompts");
        string? defaultPrompt = config.StringOrNull("default_prompt_name");
        if (defaultPrompt is not null && !prompts.ContainsKey(defaultPrompt))
            throw config.Invalid("default_prompt_name", $"'{defaultPrompt}' is not one of the prompts ({string.Join(", ", prompts.Keys.DefaultIfEmpty("none"))})");
        SimilarityFunction? similarity = null;
        if (config.StringOrNull("similarity_fn_name") is { } name)
        {
            if (!Similarity.TryParse(name, out SimilarityFunction parsed))
                throw config.Invalid("similarity_fn_name", $"unknown similarity function '{name}' (valid: cosine, dot, euclidean, manhattan)");
            similarity = parsed;
        }
        return (prompts, defaultPrompt, similarity);
    }
}
