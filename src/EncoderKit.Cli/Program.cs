using System.Collections;
using System.Text;
using EncoderKit.Cli;

// stdout and stderr are not disposed: RunAsync flushes them, and closing a broken pipe would throw.
// The first Ctrl+C cancels the run (exit code 130, partial downloads kept for resuming); a second one ends the process.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = !cancel.IsCancellationRequested;
    cancel.Cancel();
};

var utf8 = new UTF8Encoding(false);
using var stdin = new StreamReader(Console.OpenStandardInput(), utf8);
var stdout = new StreamWriter(Console.OpenStandardOutput(), utf8, 1 << 16);
var stderr = new StreamWriter(Console.OpenStandardError(), utf8) { AutoFlush = true };
var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>().ToDictionary(v => (string)v.Key, v => (string?)v.Value);

var cli = new CliInvocation(stdin, stdout, stderr, environment)
{
    OutputIsTerminal = !Console.IsOutputRedirected,
    ErrorIsTerminal = !Console.IsErrorRedirected,
};
return await EncoderKitCli.RunAsync(args, cli, cancel.Token);
