using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using EncoderKit.Cli.Commands;

namespace EncoderKit.Cli;

/// <summary>
/// The <c>encoderkit</c> command line as a function: the program calls it with the console, tests call it in their own
/// process with their own writers. Exit codes: 0 success, 2 a problem with the input (arguments, files, models), 3 the
/// hub could not be reached and nothing usable is cached, 130 cancelled, 1 an internal error.
/// </summary>
public static class EncoderKitCli
{
    public const int BadInput = 2, Unreachable = 3, Cancelled = 130, InternalError = 1;

    /// <summary>Runs one command line.</summary>
    /// <param name="args">The arguments after <c>encoderkit</c>.</param>
    /// <param name="stdin">Standard input (texts read by embed, tokenize, fill-mask…).</param>
    /// <param name="stdout">Results. Binary formats (npy, safetensors) need a <see cref="StreamWriter"/>, whose stream takes the bytes.</param>
    /// <param name="stderr">Messages, one line each.</param>
    /// <param name="environment">The environment variables the run sees (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN…); null: none.</param>
    /// <param name="cancellationToken">Cancels the run: exit code 130.</param>
    public static Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr,
        IReadOnlyDictionary<string, string?>? environment = null, CancellationToken cancellationToken = default) =>
        RunAsync(args, new CliInvocation(stdin, stdout, stderr, environment ?? new Dictionary<string, string?>()), cancellationToken);

    internal static async Task<int> RunAsync(string[] args, CliInvocation cli, CancellationToken cancellationToken)
    {
        try
        {
            return await ParseAndInvokeAsync(args, cli, cancellationToken);
        }
        catch (EncoderKitException e)
        {
            // A problem the user can fix: one line, no stack trace.
            cli.Error.WriteLine("encoderkit: " + OneLine(CliHints.Message(e)));
            return e.Kind == ErrorKind.Unreachable ? Unreachable : BadInput;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cli.Error.WriteLine("encoderkit: cancelled");
            return Cancelled;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file that cannot be read or written (no permission, a symlink loop, a directory where a file should be):
            // .NET's message names the path.
            cli.Error.WriteLine("encoderkit: " + OneLine(e.Message));
            return BadInput;
        }
        catch (Exception e)
        {
            cli.Error.WriteLine($"encoderkit: internal error: {OneLine(e.Message)} (the full report is in {WriteReport(args, e)})");
            return InternalError;
        }
        finally
        {
            try { cli.Out.Flush(); }
            catch (IOException) { } // a closed pipe: nobody is reading any more
        }
    }

    static async Task<int> ParseAndInvokeAsync(string[] args, CliInvocation cli, CancellationToken cancellationToken)
    {
        var root = new RootCommand("EncoderKit: fill masks, embed, compare, search and tokenize texts with BERT-family encoder models, and fetch them from the Hugging Face hub.");
        foreach (Command command in CommandCatalog.All(cli)) root.Subcommands.Add(command);

        // No response files: an argument starting with '@' is text ("@john is a [MASK]."), never a file to read.
        ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Action is not HelpAction && (UnknownOption(parsed) ?? parsed.Errors.FirstOrDefault()?.Message) is { } problem)
        {
            cli.Error.WriteLine($"encoderkit: {OneLine(problem)} ({CommandLine(parsed.CommandResult)} --help lists the options)");
            return BadInput;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration
        {
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null, // the program handles Ctrl+C; an in-process run must not take the console's
            Output = cli.Out,
            Error = cli.Error,
        }, cancellationToken);
    }

    /// <summary>
    /// An argument that looks like an option this command does not have. Without this check it would be taken as the
    /// command's text, and the error would blame the text that then has no place. After "--" anything is text.
    /// </summary>
    static string? UnknownOption(ParseResult parsed)
    {
        var afterDoubleDash = parsed.Tokens.SkipWhile(t => t.Type != TokenType.DoubleDash).ToHashSet<Token>(ReferenceEqualityComparer.Instance);
        string? value = parsed.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens)
            .Where(t => !afterDoubleDash.Contains(t)).Select(t => t.Value)
            .Concat(parsed.UnmatchedTokens)
            .FirstOrDefault(v => v.Length > 1 && v[0] == '-' && (char.IsLetter(v[1]) || v[1] == '-' && v.Length > 2));
        return value is null ? null : $"unknown option '{value.Split('=')[0]}'";
    }

    /// <summary>"encoderkit cache list": the command as typed, whatever the executable is called.</summary>
    static string CommandLine(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? result = command; result is CommandResult c; result = c.Parent) names.Insert(0, c.Command.Name);
        names[0] = "encoderkit";
        return string.Join(' ', names);
    }

    static string OneLine(string message) => string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Writes the full exception to a file for a bug report; returns the file's path.</summary>
    static string WriteReport(string[] args, Exception e)
    {
        string path = Path.Combine(Path.GetTempPath(), $"encoderkit-error-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid():N}.txt");
        try
        {
            File.WriteAllText(path, $"encoderkit {string.Join(' ', args)}\n{typeof(EncoderKitCli).Assembly.GetName().Version}\n\n{e}\n");
            return path;
        }
        catch (Exception write) when (write is IOException or UnauthorizedAccessException)
        {
            return $"nowhere: {OneLine(write.Message)}";
        }
    }
}
