using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.IO;

namespace EncoderKit.Evaluation;

/// <summary>
/// The lines of a JSON Lines data file, each parsed as one object, with typed field reads whose errors name the file
/// and the 1-based line. Blank lines are skipped (they count in the numbering).
/// </summary>
internal static class TaskRecords
{
    public sealed record Line(JsonObject Object, string File, int Number)
    {
        public string Where => $"line {Number}";

        public EncoderKitException Error(string problem) => new(ErrorKind.BadInput, problem, File, Where);

        public JsonNode Required(string field) =>
            Object.TryGetPropertyValue(field, out JsonNode? node) && node is not null ? node : throw Error($"no \"{field}\" field");

        public string String(string field) => Required(field) is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>() : throw Error($"\"{field}\" must be a string");

        public string? OptionalString(string field) => Object.TryGetPropertyValue(field, out JsonNode? node) && node is not null
            ? node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Error($"\"{field}\" must be a string")
            : null;

        public double Float(string field) => Required(field) switch
        {
            JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
            JsonValue v when v.TryGetValue(out double d) => d,   // NaN/Infinity as Python's json reads them
            _ => throw Error($"\"{field}\" must be a number"),
        };

        public string[] Strings(string field) => Required(field) is JsonArray array
            ? array.Select((n, i) => n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Error($"\"{field}\"[{i}] must be a string")).ToArray()
            : throw Error($"\"{field}\" must be a list of strings");

        public double[] Numbers(string field) => Required(field) is JsonArray array
            ? array.Select((n, i) => n is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : throw Error($"\"{field}\"[{i}] must be a number")).ToArray()
            : throw Error($"\"{field}\" must be a list of numbers");

        /// <summary>A class label as written: an integer, a boolean (as 0/1) or a string, kept as text to be mapped to ids.</summary>
        public string Label(string field) => Required(field) switch
        {
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            JsonValue v when v.GetValueKind() == JsonValueKind.True => "1",
            JsonValue v when v.GetValueKind() == JsonValueKind.False => "0",
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out long l) => l.ToString(CultureInfo.InvariantCulture),
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is double d && d == Math.Floor(d) && Math.Abs(d) < 1e15
                => ((long)d).ToString(CultureInfo.InvariantCulture),
            _ => throw Error($"\"{field}\" must be an integer or a string label"),
        };
    }

    public static List<Line> Read(string file)
    {
        string[] lines = UserFile.Read(file, () => File.ReadAllLines(file));
        var records = new List<Line>(lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            records.Add(new Line(JsonLines.ParseObject(lines[i], file, i + 1), file, i + 1));
        }
        if (records.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "holds no records", file);
        return records;
    }

    /// <summary>Label texts → class ids: integer labels keep their value; otherwise ids follow the labels' ordinal sort order.</summary>
    public static Dictionary<string, int> LabelIds(IEnumerable<string> labels)
    {
        string[] distinct = labels.Distinct().ToArray();
        if (distinct.All(l => int.TryParse(l, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
            return distinct.ToDictionary(l => l, l => int.Parse(l, CultureInfo.InvariantCulture));
        return distinct.Order(StringComparer.Ordinal).Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i);
    }
}
