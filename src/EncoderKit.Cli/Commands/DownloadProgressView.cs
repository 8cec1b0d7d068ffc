using EncoderKit.Hub;
using Spectre.Console;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// Resolves a model with one progress bar per downloaded file on the terminal (standard error), and nothing at
/// all when standard error is not a terminal, so a pipe carries only results. Any command taking <c>--model</c>
/// can resolve through here.
/// </summary>
static class DownloadProgressView
{
    public static async Task<string> ResolveAsync(CliInvocation cli, string model, string? revision, HubOptions options, CancellationToken cancellationToken)
    {
        if (!cli.ErrorIsTerminal || Directory.Exists(model))
            return await ModelSource.ResolveAsync(model, revision, options, cancellationToken);

        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            // Standard error is a terminal (checked above), but behind a writer Spectre cannot look through.
            Out = new AnsiConsoleOutput(cli.Error), Ansi = AnsiSupport.Yes, Interactive = InteractionSupport.Yes,
        });
        string folder = "";
        await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var bars = new Bars(context);
                folder = await ModelSource.ResolveAsync(model, revision, Copy(options, bars), cancellationToken);
            });
        return folder;
    }

    /// <summary>One bar per file, made on its first report and filled from there.</summary>
    sealed class Bars(ProgressContext context) : IProgress<DownloadProgress>
    {
        readonly Dictionary<string, ProgressTask> _bars = [];

        public void Report(DownloadProgress value)
        {
            lock (_bars)
            {
                if (!_bars.TryGetValue(value.File, out ProgressTask? bar))
                {
                    if (value.Completed) return; // linked from a blob already cached: nothing was downloaded
                    bar = context.AddTask(Markup.Escape(value.File), maxValue: Math.Max(1, value.TotalBytes));
                    _bars[value.File] = bar;
                }
                bar.MaxValue = Math.Max(1, value.TotalBytes);
                bar.Value = value.Completed ? bar.MaxValue : value.BytesDone;
                if (value.Completed) bar.StopTask();
            }
        }
    }

    static HubOptions Copy(HubOptions o, IProgress<DownloadProgress> progress) => new()
    {
        Endpoint = o.Endpoint, Token = o.Token, CacheDir = o.CacheDir, Offline = o.Offline, AllowPickleWeights = o.AllowPickleWeights,
        Files = o.Files, CheckForUpdates = o.CheckForUpdates, Timeout = o.Timeout, MaxRetries = o.MaxRetries,
        RetryBaseDelay = o.RetryBaseDelay, RetryMaxDelay = o.RetryMaxDelay, HttpClient = o.HttpClient, HttpHandler = o.HttpHandler,
        Logger = o.Logger, Progress = progress, Environment = o.Environment, TimeProvider = o.TimeProvider, RetryBudget = o.RetryBudget,
    };
}
