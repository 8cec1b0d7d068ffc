using System.Text.Json;
using EncoderKit.Inference;
using Microsoft.AspNetCore.Http;

namespace EncoderKit.Server;

/// <summary>
/// A request body read as TEI's serde reads it: an object whose fields have the given types, unknown fields ignored,
/// absent or null fields taking their defaults. Every mismatch is a 422 naming the field.
/// </summary>
public sealed class JsonBody
{
    readonly JsonElement _root;

    JsonBody(JsonElement root) => _root = root;

    /// <summary>Reads the whole body (at most the payload limit: more is a 413) and parses it.</summary>
    public static async Task<JsonBody> ReadAsync(HttpRequest request, long payloadLimit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > payloadLimit) throw TooLarge(payloadLimit);
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16384];
        for (int read; (read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0;)
        {
            if (buffer.Length + read > payloadLimit) throw TooLarge(payloadLimit);
            buffer.Write(chunk, 0, read);
        }
        try
        {
            using JsonDocument document = JsonDocument.Parse(buffer.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw ApiError.BadJson($"the body must be a JSON object, not {Describe(document.RootElement)}");
            return new JsonBody(document.RootElement.Clone());
        }
        catch (JsonException e)
        {
            // System.Text.Json's message says where, and nothing of the server's internals.
            throw ApiError.BadJson($"Failed to parse the request body as JSON: {e.Message}");
        }
    }

    static ApiError TooLarge(long limit) =>
        new(ApiErrorType.Validation, $"the request body is larger than the payload limit of {limit} bytes", status: StatusCodes.Status413PayloadTooLarge);

    public JsonElement? Field(string name) =>
        _root.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public JsonElement Required(string name) => Field(name) ?? throw ApiError.BadJson($"missing field `{name}`", name);

    public bool Bool(string name, bool fallback) => Field(name) switch
    {
        null => fallback,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        JsonElement other => throw ApiError.BadJson($"`{name}` must be a boolean, not {Describe(other)}", name),
    };

    public string? String(string name) => Field(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => Text(value, name),
        JsonElement other => throw ApiError.BadJson($"`{name}` must be a string, not {Describe(other)}", name),
    };

    /// <summary>A non-negative integer that fits an int (serde's usize as this server can use it).</summary>
    public int? Count(string name) => Field(name) switch
    {
        null => null,
        JsonElement value => Count(value, name),
    };

    public static int Count(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n >= 0 ? n
            : throw ApiError.BadJson($"`{name}` must be a non-negative integer below 2^31, not {Describe(value)}", name);

    /// <summary>TEI's input: a string, a list of strings, a list of token ids, or a list of such lists (mixed as serde's untagged enum allows).</summary>
    public static IReadOnlyList<TextOrIds> Inputs(JsonElement value, string name) => value.ValueKind switch
    {
        JsonValueKind.String => [new TextOrIds(Text(value, name), null)],
        JsonValueKind.Array when value.GetArrayLength() > 0 && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number) => [Ids(value, name)],
        JsonValueKind.Array => [.. value.EnumerateArray().Select((e, i) => e.ValueKind switch
        {
            JsonValueKind.String => new TextOrIds(Text(e, name), null),
            JsonValueKind.Array => Ids(e, $"{name}[{i}]"),
            _ => throw ApiError.BadJson($"`{name}[{i}]` must be a string or a list of token ids, not {Describe(e)}", name),
        })],
        _ => throw ApiError.BadJson($"`{name}` must be a string or a list, not {Describe(value)}", name),
    };

    /// <summary>A list of strings (a single string counts as one), as TEI's tokenize input.</summary>
    public static IReadOnlyList<string> Texts(JsonElement value, string name) => value.ValueKind switch
    {
        JsonValueKind.String => [Text(value, name)],
        JsonValueKind.Array => [.. value.EnumerateArray().Select((e, i) => e.ValueKind == JsonValueKind.String ? Text(e, name)
            : throw ApiError.BadJson($"`{name}[{i}]` must be a string, not {Describe(e)}", name))],
        _ => throw ApiError.BadJson($"`{name}` must be a string or a list of strings, not {Describe(value)}", name),
    };

    /// <summary>Whether an input field holds a list of inputs (TEI's "batch"), rather than one text or one id list ("single").</summary>
    public static bool IsList(JsonElement value) =>
        value.ValueKind == JsonValueKind.Array && !value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number);

    /// <summary>A list of strings, and only a list (TEI's rerank texts).</summary>
    public static IReadOnlyList<string> TextList(JsonElement value, string name) => value.ValueKind == JsonValueKind.Array ? Texts(value, name)
        : throw ApiError.BadJson($"`{name}` must be a list of strings, not {Describe(value)}", name);

    /// <summary>
    /// TEI's predict input, read as its serde reads it: a text; a pair [a, b]; or a list of texts and pairs (so
    /// ["a", "b"] is one pair, and ["a", "b", "c"] three texts).
    /// </summary>
    /// <returns>The inputs, and whether they came as a list (answered with one list of labels per input).</returns>
    public static (IReadOnlyList<TextToClassify> Inputs, bool Batch) PredictInputs(JsonElement value, string name)
    {
        if (value.ValueKind == JsonValueKind.String) return ([new TextToClassify(Text(value, name))], false);
        if (value.ValueKind != JsonValueKind.Array)
            throw ApiError.BadJson($"`{name}` must be a text, a pair of texts, or a list of texts and pairs, not {Describe(value)}", name);
        if (Pair(value, name) is { } pair) return ([pair], false);
        return ([.. value.EnumerateArray().Select((e, i) => e.ValueKind == JsonValueKind.String ? new TextToClassify(Text(e, name))
            : Pair(e, name) ?? throw ApiError.BadJson($"`{name}[{i}]` must be a text or a pair of texts, not {Describe(e)}", name))], true);
    }

    static TextToClassify? Pair(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 2 && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
            ? new TextToClassify(Text(value[0], name), Text(value[1], name))
            : null;

    /// <summary>The string's text; escapes naming lone surrogates or bytes that are not UTF-8 are the client's error.</summary>
    static string Text(JsonElement value, string name)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw ApiError.BadJson($"`{name}` is not valid UTF-8 text", name);
        }
    }

    static TextOrIds Ids(JsonElement list, string name)
    {
        var ids = new int[list.GetArrayLength()];
        int i = 0;
        foreach (JsonElement id in list.EnumerateArray())
        {
            ids[i] = id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out int n) && n >= 0 ? n
                : throw ApiError.BadJson($"`{name}[{i}]` must be a token id (a non-negative integer below 2^31), not {Describe(id)}", name);
            i++;
        }
        return new TextOrIds(null, ids);
    }

    /// <summary>A list of token ids, or a list of such lists (TEI's decode input).</summary>
    public static IReadOnlyList<int[]> IdLists(JsonElement value, string name)
    {
        if (value.ValueKind != JsonValueKind.Array) throw ApiError.BadJson($"`{name}` must be a list of token ids or a list of such lists, not {Describe(value)}", name);
        if (value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number)) return [Ids(value, name).Ids!];
        return [.. value.EnumerateArray().Select((e, i) => e.ValueKind == JsonValueKind.Array ? Ids(e, $"{name}[{i}]").Ids!
            : throw ApiError.BadJson($"`{name}[{i}]` must be a list of token ids, not {Describe(e)}", name))];
    }

    static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {Clip(value.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";
}

/// <summary>One input: a text, or token ids already (used as given, special tokens and all).</summary>
public sealed record TextOrIds(string? Text, int[]? Ids);
