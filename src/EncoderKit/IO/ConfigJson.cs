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

    public static ConfigJson Load(string path)
    {
        if (!System.IO.File.Exists(path))
            throw new EncoderKitException(ErrorKind.MissingFile, "file not found", path);
        return Parse(System.IO.File.ReadAllText(path), path);
    }

    public static ConfigJson Parse(string json, string file)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new EncoderKitException(ErrorKind.BadConfig, $"invalid JSON at line {e.LineNumber + 1}: {FirstSentence(e.Message)}", file);
        }
        return node is JsonObject root ? new ConfigJson(file, root)
            : throw new EncoderKitException(ErrorKind.BadConfig, "expected a JSON object at the top level", file);
    }

    public bool Has(string key) => Root[key] is not null;

    public int Int(string key) => IntOrNull(key) ?? throw Missing(key);
    public int Int(string key, int fallback) => IntOrNull(key) ?? fallback;
    public int? IntOrNull(string key) => Read(key, (JsonValue v, out int x) => v.TryGetValue(out x) || TryWholeDouble(v, out x));

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
    static bool TryWholeDouble(JsonValue v, out int x)
    {
        x = 0;
        if (!v.TryGetValue(out double d) || d != Math.Floor(d) || d is > int.MaxValue or < int.MinValue) return false;
        x = (int)d;
        return true;
    }

    EncoderKitException Missing(string key) => new(ErrorKind.BadConfig, "required key is missing", File, key);

    EncoderKitException WrongType(string key, string expected) =>
        new(ErrorKind.BadConfig, $"expected {expected}, got {Root[key]?.ToJsonString() ?? "null"}", File, key);

    static string FirstSentence(string message) => message.Split(". ")[0].TrimEnd('.');
}
