using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EncoderKit.Cli.Commands;

/// <summary>How the pipeline commands write and read JSON lines in the shapes of the Hugging Face pipelines.</summary>
static class PipelineJson
{
    public static JsonSerializerOptions Options { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>
    /// A UTF-16 index into <paramref name="text"/> as a count of code points, the way Python indexes the string, so a
    /// start or end printed here slices the text as the pipeline's does (they differ only past astral characters).
    /// </summary>
    public static int CodePoints(string text, int utf16) => utf16 - text[..utf16].Count(char.IsLowSurrogate);

    /// <summary>A string member of one JSON line; a missing or non-string one names the line.</summary>
    public static string String(JsonObject line, string key, string source, int number) =>
        line[key] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new EncoderKitException(ErrorKind.BadInput, $"\"{key}\" must be a string", source, $"line {number}");
}
