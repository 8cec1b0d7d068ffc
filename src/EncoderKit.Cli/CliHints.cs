namespace EncoderKit.Cli;

/// <summary>
/// What the command line adds to a library error: the library names its own settings, the CLI names its flags and
/// commands.
/// </summary>
static class CliHints
{
    public static string For(EncoderKitException e) => e.Message switch
    {
        var m when m.Contains("pickle weights", StringComparison.Ordinal) => " (--allow-pickle allows them)",
        var m when m.Contains("offline mode is on", StringComparison.Ordinal) => " (`encoderkit download MODEL` fetches it)",
        _ => "",
    };
}
