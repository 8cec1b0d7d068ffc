using System.Text.Json;

namespace EncoderKit.Tokenization;

/// <summary>A JSON value and where it sits in its file, so every complaint names the file and the JSON path.</summary>
internal readonly struct JsonAt(JsonElement value, string path, string? file)
{
    public JsonElement Value { get; } = value;
    public string Path { get; } = path;
    public string? File { get; } = file;

    public bool IsNull => Value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public EncoderKitException Error(string problem) => new(ErrorKind.BadTokenizer, problem, File, Path);

    public JsonAt? Optional(string name)
    {
        if (Value.ValueKind != JsonValueKind.Object) throw Error($"expected an object, found {Kind(Value)}");
        return Value.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? new JsonAt(v, Path.Length == 0 ? name : $"{Path}.{name}", File) : null;
    }

    public JsonAt Required(string name) => Optional(name) ?? throw new EncoderKitException(ErrorKind.BadTokenizer,
        $"missing \"{name}\"", File, Path.Length == 0 ? null : Path);

    public string String() => Value.ValueKind == JsonValueKind.String ? Value.GetString()! : throw Error($"expected a string, found {Kind(Value)}");

    public bool Bool() => Value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error($"expected true or false, found {Kind(Value)}"),
    };

    public int Int() => Value.ValueKind == JsonValueKind.Number && Value.TryGetInt32(out int i) ? i
        : throw Error($"expected an integer, found {Kind(Value)}");

    /// <summary>Largest token id accepted: ids index tables, and no published vocabulary comes near 2^24.</summary>
    public const int TokenIdLimit = 1 << 24;

    /// <summary>A token id: a non-negative integer below <see cref="TokenIdLimit"/>.</summary>
    public int TokenId() => Int() is var id && id is >= 0 and < TokenIdLimit ? id : throw Error($"token id {id} is outside [0, {TokenIdLimit})");

    public double Double() => Value.ValueKind == JsonValueKind.Number ? Value.GetDouble() : throw Error($"expected a number, found {Kind(Value)}");

    public string? OptionalString(string name) => Optional(name)?.String();
    public bool Bool(string name, bool fallback) => Optional(name)?.Bool() ?? fallback;
    public int Int(string name, int fallback) => Optional(name)?.Int() ?? fallback;

    public IEnumerable<JsonAt> Items()
    {
        if (Value.ValueKind != JsonValueKind.Array) throw Error($"expected a list, found {Kind(Value)}");
        int i = 0;
        foreach (var item in Value.EnumerateArray()) yield return new JsonAt(item, $"{Path}[{i++}]", File);
    }

    public IEnumerable<(string Name, JsonAt Value)> Properties()
    {
        if (Value.ValueKind != JsonValueKind.Object) throw Error($"expected an object, found {Kind(Value)}");
        foreach (var p in Value.EnumerateObject()) yield return (p.Name, new JsonAt(p.Value, $"{Path}.{p.Name}", File));
    }

    /// <summary>The stage's "type" tag.</summary>
    public string Type() => Required("type").String();

    static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary>
    /// Parses <paramref name="path"/> as Python's json reads it (<see cref="IO.PythonJson"/>); a missing or malformed
    /// file is a typed error naming it and the position.
    /// </summary>
    public static JsonDocument Load(string path, ErrorKind kind = ErrorKind.BadTokenizer)
    {
        byte[] bytes = IO.PythonJson.ReadFile(path);
        ReadOnlyMemory<byte> checkedJson = IO.PythonJson.Validate(bytes, path, kind);
        try
        {
            return JsonDocument.Parse(checkedJson, new JsonDocumentOptions { MaxDepth = 1024 });
        }
        catch (JsonException e)   // not expected after validation; kept so no parser message escapes untyped
        {
            throw new EncoderKitException(kind, $"malformed JSON at line {(e.LineNumber ?? 0) + 1}: {FirstSentence(e.Message)}", path, inner: e);
        }
    }

    static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.');
    }
}
