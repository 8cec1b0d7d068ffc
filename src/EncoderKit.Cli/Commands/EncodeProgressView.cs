using Spectre.Console;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// A progress bar on standard error while texts are embedded, when standard error is a terminal and the input is
/// more than one batch; otherwise nothing, so a pipe or a log file carries only results and messages.
/// </summary>
static class EncodeProgressView
{
    public static T Run<T>(CliInvocation cli, string title, int total, int batchSize, Func<IProgress<int>?, T> work)
    {
        if (!cli.ErrorIsTerminal || total <= batchSize) return work(null);
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            // Standard error is a terminal (checked above), but behind a writer Spectre cannot look through.
            Out = new AnsiConsoleOutput(cli.Error), Ansi = AnsiSupport.Yes, Interactive = InteractionSupport.Yes,
        });
        T result = default!;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                ProgressTask bar = context.AddTask(Markup.Escape(title), maxValue: total);
                result = work(new Bar(bar));
                bar.Value = total;
            });
        return result;
    }

    sealed class Bar(ProgressTask task) : IProgress<int>
    {
        public void Report(int value) => task.Value = value;
    }
}
