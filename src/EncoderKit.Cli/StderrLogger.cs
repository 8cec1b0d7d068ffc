using Microsoft.Extensions.Logging;

namespace EncoderKit.Cli;

/// <summary>Warnings and errors from the library as one "encoderkit: warning: ..." line each on stderr; stdout stays results only.</summary>
sealed class StderrLogger : ILogger
{
    public static StderrLogger Instance { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        Console.Error.WriteLine($"encoderkit: {(logLevel == LogLevel.Warning ? "warning" : "error")}: {formatter(state, exception)}");
    }
}
