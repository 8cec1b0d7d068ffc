using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EncoderKit.IO;

namespace EncoderKit.Hub;

/// <summary>
/// Which files of a repository a model needs, and whether a snapshot already holds them: the configuration, one
/// set of weights (safetensors; pickle only when allowed), the tokenizer files, and the sentence-transformers files
/// with the module folders <c>modules.json</c> names. Nothing else (READMEs, ONNX, other frameworks' weights).
/// </summary>
internal sealed class ModelFiles(bool allowPickle, IReadOnlyList<string>? patterns)
{
    public const string Config = "config.json";
    public const string Safetensors = "model.safetensors";
    public const string SafetensorsIndex = "model.safetensors.index.json";
    public const string Pickle = "pytorch_model.bin";
    public const string PickleIndex = "pytorch_model.bin.index.json";
    public const string Modules = ModulesJson.FileName;

    /// <summary>Every file a tokenizer may be read from; a repository has some of them.</summary>
    public static readonly string[] TokenizerFiles =
    [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt",
        "vocab.json", "merges.txt", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model",
    ];

    /// <summary>The sentence-transformers files at the repository's top.</summary>
    public static readonly string[] SentenceTransformersFiles = [Modules, "sentence_bert_config.json", "config_sentence_transformers.json"];

    /// <summary>Files a model may or may not have; an absent one is marked in <c>.no_exist</c>.</summary>
    public static IEnumerable<string> OptionalFiles => TokenizerFiles.Concat(SentenceTransformersFiles);

    static readonly string[] PickleSuffixes = [".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"];

    public bool AllowPickle { get; } = allowPickle;
    public IReadOnlyList<string>? Patterns { get; } = patterns;

    /// <summary>
    /// The files to fetch before any other: the configuration, tokenizer and sentence-transformers files, and the
    /// weights (a single file, or the index whose shards come in <see cref="SecondPass"/>).
    /// </summary>
    public List<string> FirstPass(string repoId, string commit, IReadOnlySet<string> listing)
    {
        if (Patterns is not null)
            return listing.Where(f => Patterns.Any(p => FnMatch(p, f)) && (AllowPickle || !IsPickle(f))).Order(StringComparer.Ordinal).ToList();

        if (!listing.Contains(Config))
            throw new EncoderKitException(ErrorKind.MissingFile, $"the repository has no {Config} at commit {commit}", file: $"{repoId}/{Config}");
        var files = new List<string> { Config };
        files.AddRange(OptionalFiles.Where(listing.Contains));
        files.Add(WeightsEntry(repoId, commit, listing));
        return files;
    }

    string WeightsEntry(string repoId, string commit, IReadOnlySet<string> listing)
    {
        // transformers' order: a single safetensors file, then a sharded one; pickle only when allowed.
        if (listing.Contains(Safetensors)) return Safetensors;
        if (listing.Contains(SafetensorsIndex)) return SafetensorsIndex;
        bool hasPickle = listing.Contains(Pickle) || listing.Contains(PickleIndex);
        if (hasPickle && AllowPickle) return listing.Contains(Pickle) ? Pickle : PickleIndex;
        if (hasPickle)
            throw new EncoderKitException(ErrorKind.BadCheckpoint,
                $"the repository has only pickle weights ({Pickle}), which are refused unless allowed "
                + "(HubOptions.AllowPickleWeights); even then they are read without running any code",
                file: $"{repoId}/{Pickle}");
        throw new EncoderKitException(ErrorKind.MissingFile,
            $"the repository has no weights at commit {commit}: neither {Safetensors} nor {SafetensorsIndex}", file: $"{repoId}/{Safetensors}");
    }

    /// <summary>
    /// The files named by what the first pass fetched: the shards of a weights index, and the files of each
    /// module folder in <c>modules.json</c>. Every name must be a safe path the listing has.
    /// </summary>
    public List<string> SecondPass(RepoCache cache, string commit, IReadOnlySet<string> listing)
    {
        if (Patterns is not null) return [];
        var files = new List<string>();
        foreach (string index in new[] { SafetensorsIndex, PickleIndex })
        {
            if (!cache.HasFile(commit, index)) continue;
            foreach (string shard in Shards(cache.PointerPath(commit, index), index))
            {
                if (!listing.Contains(shard))
                    throw new EncoderKitException(ErrorKind.BadCheckpoint, $"names shard '{shard}', which the repository does not have",
                        file: $"{cache.RepoId}/{index}");
                files.Add(shard);
            }
        }
        if (cache.HasFile(commit, Modules))
        {
            foreach (ModuleEntry module in ModuleFolders(cache.PointerPath(commit, Modules)))
                files.AddRange(listing.Where(f => IsModuleFile(module.Path, f)).Order(StringComparer.Ordinal));
        }
        return files.Distinct().ToList();
    }

    bool IsModuleFile(string folder, string file)
    {
        if (!file.StartsWith(folder + "/", StringComparison.Ordinal)) return false;
        string name = file[(folder.Length + 1)..];
        if (name.Contains('/')) return false;
        return name is Config or "sentence_bert_config.json" || name.EndsWith(".safetensors", StringComparison.Ordinal)
            || name == SafetensorsIndex || TokenizerFiles.Contains(name) || AllowPickle && name == Pickle;
    }

    /// <summary>
    /// The first file a model needs that the snapshot lacks, or null when it has them all. <paramref name="strict"/>
    /// also asks that each optional file be present or known to be absent (<c>.no_exist</c>): only then can the
    /// snapshot be used without asking the hub.
    /// </summary>
    public string? FirstMissing(RepoCache cache, string commit, bool strict)
    {
        if (!Directory.Exists(cache.SnapshotDir(commit))) return "";
        if (Patterns is not null) return strict ? "" : null; // no way to know what the patterns matched
        if (!cache.HasFile(commit, Config)) return Config;
        if (MissingWeights(cache, commit, "") is { } weights) return weights;
        if (!TokenizerFiles.Any(f => cache.HasFile(commit, f)) && !cache.KnownAbsent(commit, TokenizerFiles[0])) return TokenizerFiles[0];
        if (cache.HasFile(commit, Modules))
        {
            foreach ((_, string path, string type) in ModuleFolders(cache.PointerPath(commit, Modules)))
            {
                bool pooling = type.EndsWith("Pooling", StringComparison.Ordinal), dense = type.EndsWith("Dense", StringComparison.Ordinal);
                if ((pooling || dense) && !cache.HasFile(commit, $"{path}/{Config}")) return $"{path}/{Config}";
                if (dense && MissingWeights(cache, commit, path + "/") is { } w) return w;
            }
        }
        if (strict)
            foreach (string f in OptionalFiles)
                if (!cache.HasFile(commit, f) && !cache.KnownAbsent(commit, f)) return f;
        return null;
    }

    string? MissingWeights(RepoCache cache, string commit, string folder)
    {
        if (cache.HasFile(commit, folder + Safetensors)) return null;
        foreach ((string index, bool allowed) in new[] { (SafetensorsIndex, true), (PickleIndex, AllowPickle) })
        {
            if (!allowed || !cache.HasFile(commit, folder + index)) continue;
            foreach (string shard in Shards(cache.PointerPath(commit, folder + index), folder + index))
                if (!cache.HasFile(commit, folder + shard)) return folder + shard;
            return null;
        }
        if (AllowPickle && cache.HasFile(commit, folder + Pickle)) return null;
        return folder + Safetensors;
    }

    /// <summary>The distinct shard file names of a weights index (<c>weight_map</c> values), each checked safe.</summary>
    internal static IEnumerable<string> Shards(string indexPath, string indexName)
    {
        using JsonDocument json = ReadJson(indexPath, indexName);
        if (json.RootElement.ValueKind != JsonValueKind.Object
            || !json.RootElement.TryGetProperty("weight_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
            throw new EncoderKitException(ErrorKind.BadCheckpoint, "has no weight_map object", file: indexName, field: "weight_map");
        var shards = new SortedSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty tensor in map.EnumerateObject())
        {
            string? shard = tensor.Value.ValueKind == JsonValueKind.String ? tensor.Value.GetString() : null;
            if (shard is null || !RelativePaths.IsSafe(shard))
                throw new EncoderKitException(ErrorKind.BadCheckpoint, $"shard name '{shard ?? tensor.Value.GetRawText()}' would leave the model folder",
                    file: indexName, field: $"weight_map.{tensor.Name}");
            shards.Add(shard);
        }
        return shards;
    }

    /// <summary>The module folders of <c>modules.json</c> (the top folder excluded), each checked safe.</summary>
    internal static IEnumerable<ModuleEntry> ModuleFolders(string modulesPath) =>
        ModulesJson.Read(modulesPath, Modules).Where(m => m.Path.Length > 0);

    // Checked as Python's json reads it first (with the position of any fault), so JsonDocument cannot fail on it.
    static JsonDocument ReadJson(string path, string name) =>
        JsonDocument.Parse(PythonJson.Validate(PythonJson.ReadFile(path), name, ErrorKind.BadConfig));

    static bool IsPickle(string file) => PickleSuffixes.Any(s => file.EndsWith(s, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Python's <c>fnmatch.fnmatch</c> on POSIX, as huggingface_hub's <c>filter_repo_objects</c> uses it: '*' matches
    /// anything, '/' included; '?' one character; '[...]' a set ('[!...]' its complement). A pattern ending in '/'
    /// means everything below that folder.
    /// </summary>
    internal static bool FnMatch(string pattern, string name)
    {
        if (pattern.EndsWith('/')) pattern += "*";
        var regex = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '*') regex.Append(".*");
            else if (c == '?') regex.Append('.');
            else if (c == '[' && i + 2 < pattern.Length && pattern.IndexOf(']', i + 2) is int close and > 0)
            {
                string set = pattern[(i + 1)..close];
                regex.Append('[');
                if (set.StartsWith('!')) { regex.Append('^'); set = set[1..]; }
                regex.Append(set.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("[", "\\[", StringComparison.Ordinal));
                regex.Append(']');
                i = close;
            }
            else regex.Append(Regex.Escape(c.ToString()));
        }
        regex.Append('$');
        return Regex.IsMatch(name, regex.ToString(), RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }
}
