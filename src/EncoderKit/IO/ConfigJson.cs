using System.Text.Json;
using System.Text.Json.Nodes;

namespace EncoderKit.IO;

/// <summary>
/// A model's config.json: typed reads that name the file and the key when a value is missing or of the wrong
/// type. Every key is kept, known or not, so a config round-trips.
/// </summary>
public sealed class ConfigJson
{
    ConfigJson(string file, JsonObject root)
    {
        File = file;
        Root = root;
    }

    public string File { get; }

    public JsonObject Root { get; }

    /// <summary>Reads config.json as transformers does (Python's json: duplicate keys, last wins; NaN allowed).</summary>
    public static ConfigJson Load(string path) => Parse(PythonJson.ReadFile(path), path);

    public static ConfigJson Parse(string json, string file) => Parse(System.Text.Encoding.UTF8.GetBytes(json), file);

    public static ConfigJson Parse(ReadOnlySpan<byte> utf8, string file) =>
        PythonJson.Parse(utf8, file, ErrorKind.BadConfig) is JsonObject root ? new ConfigJson(file, root)
            : throw new EncoderKitException(ErrorKind.BadConfig, "expected a JSON object at the top level", file);

    public bool Has(string key) => Root[key] is not null;

    public int Int(string key) => IntOrNull(key) ?? throw Missing(key);
    public int Int(string key, int fallback) => IntOrNull(key) ?? fallback;
    /// <summary>The integer at <paramref name="key"/>; sizes and counts transformers knows are checked against <see cref="Ranges"/>.</summary>
    public int? IntOrNull(string key)
    {
        JsonNode? node = Root[key];
        if (node is null) return null;
        if (node is not JsonValue v || !TryWhole(v, out double whole)) throw WrongType(key, "an integer");
        var (min, max) = Ranges.GetValueOrDefault(key, (int.MinValue, int.MaxValue));
        if (whole < min) throw Invalid(key, $"must be at least {min}, got {Describe(node)}");
        if (whole > max) throw Invalid(key, $"must be at most {max}, got {Describe(node)}");
        return (int)whole;
    }

    /// <summary>
    /// <paramref name="hidden"/> / <paramref name="heads"/>, refusing head counts that do not divide the hidden size
    /// (transformers refuses them too), so the config is blamed rather than the weights' shapes.
    /// </summary>
    public int HeadDim(int hidden, int heads, string hiddenKey = "hidden_size", string headsKey = "num_attention_heads")
    {
        if (heads < 1) throw Invalid(headsKey, $"must be at least 1, got {heads}");
        if (hidden % heads != 0) throw Invalid(headsKey, $"{heads} heads do not divide {hiddenKey} {hidden}");
        return hidden / heads;
    }

    public double Double(string key) => DoubleOrNull(key) ?? throw Missing(key);
    public double Double(string key, double fallback) => DoubleOrNull(key) ?? fallback;
    public double? DoubleOrNull(string key) => Read(key, (JsonValue v, out double x) => v.TryGetValue(out x));

    public bool Bool(string key, bool fallback) => Read(key, (JsonValue v, out bool x) => v.TryGetValue(out x)) ?? fallback;

    public string String(string key) => StringOrNull(key) ?? throw Missing(key);
    public string? StringOrNull(string key) => Root[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw WrongType(key, "a string"),
    };

    public IReadOnlyList<string> Strings(string key) => Root[key] switch
    {
        null => [],
        JsonArray array => array.Select((item, i) => item is JsonValue v && v.TryGetValue(out string? s) ? s
            : throw WrongType($"{key}[{i}]", "a string")).ToList(),
        _ => throw WrongType(key, "a list of strings"),
    };

    /// <summary>A nested object as string → string (e.g. auto_map, id2label); empty when absent.</summary>
    public IReadOnlyDictionary<string, string> StringMap(string key) => Root[key] switch
    {
        null => new Dictionary<string, string>(),
        JsonObject o => o.ToDictionary(p => p.Key, p => p.Value is JsonValue v && v.TryGetValue(out string? s) ? s
            : throw WrongType($"{key}.{p.Key}", "a string")),
        _ => throw WrongType(key, "an object"),
    };

    public EncoderKitException Invalid(string key, string problem) => new(ErrorKind.BadConfig, problem, File, key);

    delegate bool TryRead<T>(JsonValue value, out T result);

    T? Read<T>(string key, TryRead<T> tryRead) where T : struct => Root[key] switch
    {
        null => null,
        JsonValue v when tryRead(v, out T x) => x,
        _ => throw WrongType(key, typeof(T) == typeof(int) ? "an integer" : typeof(T) == typeof(bool) ? "true or false" : "a number"),
    };

    // Python writes 2048.0 for some integer settings; accept whole numbers.
    static bool TryWhole(JsonValue v, out double whole)
    {
        if (v.TryGetValue(out long l)) { whole = l; return true; }
        return v.TryGetValue(out whole) && double.IsFinite(whole) && whole == Math.Floor(whole);
    }

    // Sizes and counts a network is built from: a zero head count divides by zero, a zero size makes an empty
    // tensor, and nothing above int.MaxValue fits a tensor dimension here. Keys of every family's config.
    const int Most = int.MaxValue;
    static readonly Dictionary<string, (int Min, int Max)> Ranges = new()
    {
        ["num_attention_heads"] = (1, Most), ["n_head"] = (1, Most), ["num_key_value_heads"] = (1, Most), ["num_heads_kv"] = (1, Most),
        ["hidden_size"] = (1, Most), ["n_embd"] = (1, Most), ["intermediate_size"] = (1, Most), ["n_inner"] = (1, Most),
        ["head_dim"] = (1, Most), ["num_hidden_layers"] = (1, Most), ["n_layer"] = (1, Most), ["vocab_size"] = (1, Most),
        ["max_position_embeddings"] = (1, Most), ["n_positions"] = (1, Most), ["max_trained_positions"] = (1, Most),
        ["type_vocab_size"] = (0, Most), ["global_attn_every_n_layers"] = (1, Most), ["local_attention"] = (0, Most),
        ["pad_vocab_size_multiple"] = (1, Most), ["num_labels"] = (0, Most), ["moe_every_n_layers"] = (0, Most),
    };

    EncoderKitException Missing(string key) => new(ErrorKind.BadConfig, "required key is missing", File, key);

    EncoderKitException WrongType(string key, string expected) =>
        new(ErrorKind.BadConfig, $"expected {expected}, got {Describe(Root[key])}", File, key);

    static string Describe(JsonNode? node) => PythonJson.Describe(node);
}
