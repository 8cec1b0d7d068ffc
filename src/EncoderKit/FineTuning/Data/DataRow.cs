using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EncoderKit.FineTuning.Data;

/// <summary>One record of a data file: its fields, and where it is (a 1-based line, or a Parquet row).</summary>
/// <param name="Place">"line 12" or "row 12", as errors name it.</param>
public sealed record DataRow(string File, string Place, JsonObject Fields)
{
    /// <summary>The field <paramref name="column"/>, or a clear error naming the file, place and column.</summary>
    public JsonNode Get(string column) =>
        Fields.TryGetPropertyValue(column, out JsonNode? value) && value is not null ? value
            : throw Error(column, Fields.ContainsKey(column) ? "is empty (null)" : $"is missing (columns: {string.Join(", ", Fields.Select(f => f.Key))})");

    public string Text(string column) => Get(column) switch
    {
        JsonValue v when v.TryGetValue(out string? s) => s,
        var other => throw Error(column, $"is {other.ToJsonString()}, not a string"),
    };

    /// <summary>The field as a list of strings: a JSON array of strings or numbers.</summary>
    public IReadOnlyList<string> Strings(string column) => Get(column) is JsonArray array
        ? [.. array.Select((item, i) => item is JsonValue v ? ScalarText(v) : throw Error($"{column}[{i}]", $"is {item?.ToJsonString() ?? "null"}, not a string or number"))]
        : throw Error(column, "is not a list");

    public EncoderKitException Error(string column, string problem) => new(ErrorKind.BadInput, $"column '{column}' {problem}", File, Place);

    /// <summary>
    /// The value as a double when it is a number. JSON text reads every number as a double; a row built in memory holds
    /// the type its source had (a Parquet column's long or int, a benchmark's int), read here through its JSON text.
    /// </summary>
    internal static bool TryNumber(JsonValue value, out double number) =>
        value.TryGetValue(out number)
        || (value.GetValueKind() == JsonValueKind.Number && double.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out number));

    /// <summary>A string, or a number or boolean as its JSON text ("1", "0.5", "true").</summary>
    public static string ScalarText(JsonValue value) => value.TryGetValue(out string? s) ? s : value.ToJsonString();
}
