namespace EncoderKit.Cli;

/// <summary>
/// Library errors in the command line's words: the library names its own settings and parameters, the CLI names the
/// flag the user typed and adds its own commands as hints.
/// </summary>
static class CliHints
{
    /// <summary>Library parameter → the flag that sets it.</summary>
    static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        ["truncate_dim"] = "--dim", ["batch_size"] = "--batch-size", ["max_seq_length"] = "--max-length", ["top_k"] = "--top-k",
        ["threads"] = "--threads", ["device"] = "--device", ["dtype"] = "--dtype", ["prompt_name"] = "--prompt", ["precision"] = "--precision",
    };

    public static string Message(EncoderKitException e)
    {
        // Only a problem with no file is about a setting; "config.json: max_seq_length" is about the file.
        string message = e.File is null && e.Field is { } field && Flags.TryGetValue(field, out string? flag)
            ? $"{flag}: {e.Problem.Replace(field, flag, StringComparison.Ordinal)}"
            : e.Message;
        return message + Hint(message);
    }

    static string Hint(string message) => message switch
    {
        _ when message.Contains("pickle weights", StringComparison.Ordinal) => " (--allow-pickle allows them)",
        _ when message.Contains("offline mode is on", StringComparison.Ordinal) => " (`encoderkit download MODEL` fetches it)",
        _ => "",
    };
}
