using Microsoft.Extensions.Logging;

namespace EncoderKit.Cli;

/// <summary>Library messages as one "encoderkit: note|warning|error: ..." line each on standard error; stdout stays results only.</summary>
sealed class StderrLogger(TextWriter error, LogLevel minimum) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        string kind = logLevel switch { < LogLevel.Warning => "note", LogLevel.Warning => "warning", _ => "error" };
        error.WriteLine($"encoderkit: {kind}: {formatter(state, exception)}");
    }
}
