using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using EncoderKit.IO;

namespace EncoderKit.Evaluation;

/// <summary>One split's scores: the metrics under MTEB's (or GLUE's) key names, and which of them is the main score.</summary>
public sealed record SplitScores(string MainScore, IReadOnlyDictionary<string, double> Metrics)
{
    public double MainValue => Metrics[MainScore];
}

/// <summary>
/// One task's evaluation, as MTEB records it: the task, its type (Retrieval, STS, …, or GLUE / JGLUE), the scores by
/// split, the languages, how long it took, and the model it scored.
/// </summary>
public sealed record TaskResult(string TaskName, string TaskType, IReadOnlyDictionary<string, SplitScores> Scores, IReadOnlyList<string> Languages,
    double EvaluationSeconds, string ModelName, string? ModelRevision)
{
    /// <summary>"encoderkit-&lt;version&gt;": these results were not produced by the mteb package, and say so where it writes its version.</summary>
    public static string Producer { get; } =
        "encoderkit-" + (typeof(TaskResult).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0] ?? "0");

    /// <summary>The main score of the first split (the one a summary table shows).</summary>
    public double MainScore => Scores.Values.First().MainValue;

    /// <summary>
    /// MTEB's result file layout: {dataset_revision, task_name, mteb_version, scores: {split: [{metrics…, main_score,
    /// hf_subset: "default", languages}]}, evaluation_time, kg_co2_emissions}, plus model_name and model_revision
    /// (which MTEB keeps in the folder path). NaN scores are written as Python's json writes them.
    /// </summary>
    public JsonObject ToMtebJson()
    {
        var scores = new JsonObject();
        foreach (var (split, splitScores) in Scores)
        {
            var entry = new JsonObject();
            foreach (var (name, value) in splitScores.Metrics) entry[name] = value;
            entry["main_score"] = splitScores.MainValue;
            entry["hf_subset"] = "default";
            entry["languages"] = new JsonArray(Languages.Select(l => (JsonNode)JsonValue.Create(l)!).ToArray());
            scores[split] = new JsonArray(entry);
        }
        return new JsonObject
        {
            ["dataset_revision"] = null,
            ["task_name"] = TaskName,
            ["mteb_version"] = Producer,
            ["scores"] = scores,
            ["evaluation_time"] = EvaluationSeconds,
            ["kg_co2_emissions"] = null,
            ["model_name"] = ModelName,
            ["model_revision"] = ModelRevision,
        };
    }

    /// <summary>Writes <see cref="ToMtebJson"/> to <paramref name="path"/> atomically, indented as MTEB writes it.</summary>
    public void Write(string path)
    {
        JsonObject json = ToMtebJson();
        AtomicFile.Write(path, stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            PythonJson.Write(writer, json);
        });
    }
}
