using System.Text.Json.Nodes;
using EncoderKit.IO;

namespace EncoderKit.Evaluation;

/// <summary>One task of a suite file: the task, its data (a full path), and what to record or check.</summary>
/// <param name="Where">The entry's place in the suite ("suite.json: tasks[2]"), for messages.</param>
public sealed record SuiteEntry(string Task, string Data, string? Name, string? Split, IReadOnlyList<string>? Languages, (double Min, double Max)? ScoreRange, string Where);

/// <summary>
/// A suite file: <c>{"tasks": [{"task", "data", "name"?, "split"?, "languages"?, "score_range"?: [min, max]}]}</c> (or
/// the list alone), data paths relative to the file.
/// </summary>
public static class EvaluationSuite
{
    public static IReadOnlyList<SuiteEntry> Read(string file)
    {
        JsonNode? root = PythonJson.Parse(PythonJson.ReadFile(file), file, ErrorKind.BadInput);
        JsonArray tasks = root switch
        {
            JsonArray list => list,
            JsonObject o when o["tasks"] is JsonArray list => list,
            _ => throw new EncoderKitException(ErrorKind.BadInput, "expected {\"tasks\": [...]} or a list of tasks", file),
        };
        if (tasks.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "lists no tasks", file);
        string folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var entries = new List<SuiteEntry>();
        for (int i = 0; i < tasks.Count; i++)
        {
            string where = $"tasks[{i}]";
            EncoderKitException Error(string problem) => new(ErrorKind.BadInput, problem, file, where);
            if (tasks[i] is not JsonObject entry) throw Error("expected an object");
            string? Text(string key, bool required) => entry[key] switch
            {
                null => required ? throw Error($"no \"{key}\"") : null,
                JsonValue v when v.TryGetValue(out string? s) => s,
                _ => throw Error($"\"{key}\" must be a string"),
            };
            string[]? languages = entry["languages"] switch
            {
                null => null,
                JsonArray a => a.Select(n => n is JsonValue v && v.TryGetValue(out string? s) ? s : throw Error("\"languages\" must be a list of strings")).ToArray(),
                _ => throw Error("\"languages\" must be a list of strings"),
            };
            (double, double)? range = entry["score_range"] switch
            {
                null => null,
                JsonArray { Count: 2 } a when a[0] is JsonValue x && x.TryGetValue(out double lo) && a[1] is JsonValue y && y.TryGetValue(out double hi) && lo < hi => (lo, hi),
                _ => throw Error("\"score_range\" must be [min, max] with min below max"),
            };
            entries.Add(new SuiteEntry(Text("task", true)!, Path.Combine(folder, Text("data", true)!), Text("name", false), Text("split", false), languages, range,
                $"{file}: {where}"));
        }
        return entries;
    }
}
