using System.CommandLine;
using EncoderKit;
using EncoderKit.Cli.Commands;

var root = new RootCommand("EncoderKit: run, serve, train and evaluate BERT-family encoder models.");
foreach (Command command in CommandCatalog.All()) root.Subcommands.Add(command);

ParseResult parsed = root.Parse(args);
try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (EncoderKitException e)
{
    // A problem the user can fix: one line, no stack trace.
    Console.Error.WriteLine("encoderkit: " + e.Message);
    return 2;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("encoderkit: cancelled");
    return 130;
}
