using System.Text.Json;
using System.Text.Json.Nodes;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// train_log.png beside train_log.jsonl: the training loss per step (left axis) and the evaluation metrics (right
/// axis: the main one, and e.g. the same at each Matryoshka width), drawn with ScottPlot (SkiaSharp's self-contained Linux assets, so no fontconfig or display is needed).
/// </summary>
static class TrainingCurves
{
    public static string Write(string logFile, params string[] metrics)
    {
        var steps = new List<double>();
        var losses = new List<double>();
        var evaluations = metrics.ToDictionary(m => m, _ => (Steps: new List<double>(), Values: new List<double>()));
        foreach (string line in File.ReadAllLines(logFile))
        {
            JsonObject? record;
            try
            {
                record = JsonNode.Parse(line) as JsonObject;
            }
            catch (JsonException)
            {
                continue;
            }
            if (record?["step"] is not JsonValue step) continue;
            if (record["loss"] is JsonValue loss) { steps.Add(step.GetValue<double>()); losses.Add(loss.GetValue<double>()); }
            foreach (var (metric, (evalSteps, values)) in evaluations)
                if (record["eval_" + metric] is JsonValue value) { evalSteps.Add(step.GetValue<double>()); values.Add(value.GetValue<double>()); }
        }
        var plot = new ScottPlot.Plot();
        var lossLine = plot.Add.ScatterLine(steps.ToArray(), losses.ToArray());
        lossLine.LegendText = "training loss";
        plot.Axes.Bottom.Label.Text = "step";
        plot.Axes.Left.Label.Text = "loss";
        foreach (var (metric, (evalSteps, values)) in evaluations.Where(e => e.Value.Values.Count > 0))
        {
            var metricLine = plot.Add.Scatter(evalSteps.ToArray(), values.ToArray());
            metricLine.LegendText = "validation " + metric;
            metricLine.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = metrics.Length == 1 ? metric : "metric";
        }
        plot.ShowLegend();
        string path = Path.ChangeExtension(logFile, ".png"), partial = path + ".partial.png";
        plot.SavePng(partial, 900, 500);
        File.Move(partial, path, overwrite: true);
        return path;
    }
}
