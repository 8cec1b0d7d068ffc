using System.Globalization;
using System.Text;

namespace EncoderKit.Evaluation;

/// <summary>
/// One table over a suite's results, as the MTEB leaderboard lays it out: each task's main score (×100), the mean of
/// each task type's tasks, the mean over all tasks, and the mean of the type means ("Mean (TaskType)").
/// </summary>
public sealed class SuiteSummary(IReadOnlyList<TaskResult> results)
{
    public IReadOnlyList<TaskResult> Results { get; } = results;

    /// <summary>Task type → mean main score of its tasks, in the order the types first appear.</summary>
    public IReadOnlyList<(string TaskType, double Mean, int Tasks)> TypeMeans =>
        Results.GroupBy(r => r.TaskType).Select(g => (g.Key, g.Average(r => r.MainScore), g.Count())).ToArray();

    public double MeanOverTasks => Results.Average(r => r.MainScore);

    public double MeanOverTypes => TypeMeans.Average(t => t.Mean);

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| task | type | split | main score | value |").AppendLine("| --- | --- | --- | --- | ---: |");
        foreach (TaskResult r in Results)
        {
            var (split, scores) = r.Scores.First();
            text.AppendLine(CultureInfo.InvariantCulture, $"| {r.TaskName} | {r.TaskType} | {split} | {scores.MainScore} | {Percent(scores.MainValue)} |");
        }
        text.AppendLine().AppendLine("| task type | tasks | mean |").AppendLine("| --- | ---: | ---: |");
        foreach (var (type, mean, count) in TypeMeans) text.AppendLine(CultureInfo.InvariantCulture, $"| {type} | {count} | {Percent(mean)} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| Mean (Task) | {Results.Count} | {Percent(MeanOverTasks)} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| Mean (TaskType) | {TypeMeans.Count} | {Percent(MeanOverTypes)} |");
        return text.ToString();
    }

    /// <summary>One row per task, then one per type mean and the two overall means (task column empty).</summary>
    public string ToCsv()
    {
        var text = new StringBuilder("task,type,split,main_score,value\n");
        foreach (TaskResult r in Results)
        {
            var (split, scores) = r.Scores.First();
            text.Append(CultureInfo.InvariantCulture, $"{Csv(r.TaskName)},{Csv(r.TaskType)},{Csv(split)},{scores.MainScore},{Percent(scores.MainValue)}\n");
        }
        foreach (var (type, mean, _) in TypeMeans) text.Append(CultureInfo.InvariantCulture, $",{Csv(type)},,mean,{Percent(mean)}\n");
        text.Append(CultureInfo.InvariantCulture, $",Mean (Task),,mean,{Percent(MeanOverTasks)}\n");
        text.Append(CultureInfo.InvariantCulture, $",Mean (TaskType),,mean,{Percent(MeanOverTypes)}\n");
        return text.ToString();
    }

    static string Percent(double value) => double.IsNaN(value) ? "NaN" : (value * 100).ToString("0.00", CultureInfo.InvariantCulture);

    static string Csv(string value) => value.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
