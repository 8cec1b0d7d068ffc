using System.Globalization;
using EncoderKit.Training;
using Spectre.Console;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// A training run's progress on stderr: a bar with the step, loss, rate, throughput and ETA on a terminal (evaluations
/// printed above it), or about a hundred plain lines and every evaluation when redirected.
/// </summary>
static class TrainingProgressView
{
    /// <param name="run">Runs the training, reporting each step to the callback it is given.</param>
    public static async Task<TrainingSummary> RunAsync(CliInvocation cli, string title, Func<Action<TrainingProgress>, Task<TrainingSummary>> run)
    {
        if (!cli.ErrorIsTerminal)
            return await run(p =>
            {
                if (p.Metrics is not null || p.Step == p.TotalSteps || p.Step % Math.Max(1, p.TotalSteps / 100) == 0) cli.Error.WriteLine(Describe(p));
            });
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(cli.Error), Ansi = AnsiSupport.Yes, Interactive = InteractionSupport.Yes,
        });
        TrainingSummary summary = null!;
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                ProgressTask bar = context.AddTask(title, maxValue: 1);
                summary = await run(p =>
                {
                    bar.MaxValue = p.TotalSteps;
                    bar.Value = p.Step;
                    bar.Description = Markup.Escape(Describe(p));
                    if (p.Metrics is not null) console.MarkupLine(Markup.Escape(Describe(p)));
                });
            });
        return summary;
    }

    /// <summary>The line stdout ends a run with: where the model is, and which step's it is.</summary>
    public static string Outcome(TrainingSummary summary, string metric) => summary.BestMetric is { } best
        ? $"model written to {summary.FinalModelFolder} (step {summary.BestStep} of {summary.Steps}, {metric} {best.ToString("G4", CultureInfo.InvariantCulture)}{(summary.StoppedEarly ? ", stopped early" : "")})"
        : $"model written to {summary.FinalModelFolder} ({summary.Steps} steps)";

    internal static string Describe(TrainingProgress p)
    {
        var line = FormattableString.Invariant($"step {p.Step}/{p.TotalSteps}  epoch {p.Epoch + 1}  loss {p.Loss:F4}  lr {p.LearningRate:0.00e+0}  {p.TokensPerSecond:F0} tokens/s  ETA {p.Remaining:hh\\:mm\\:ss}");
        if (p.Metrics is null) return line;
        return line + "  eval " + string.Join("  ", p.Metrics.Select(m => FormattableString.Invariant($"{m.Key} {m.Value:G4}")));
    }
}
