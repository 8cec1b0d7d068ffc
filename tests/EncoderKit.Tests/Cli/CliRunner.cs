using System.Text;
using EncoderKit.Cli;

namespace EncoderKit.Tests.Cli;

/// <summary>
/// Runs the `encoderkit` command line inside the test process (<see cref="EncoderKitCli.RunAsync"/>) with its own
/// standard input, output, error and environment, so runs in parallel share nothing. <see cref="CliProcess"/> runs the
/// real binary, for the few tests about the process itself.
/// </summary>
public static class CliRunner
{
    public sealed record Result(int Exit, string Out, string Err, byte[] OutBytes)
    {
        /// <summary>Asserts a user error: exit code 2 and exactly one "encoderkit: ..." line on stderr, no stack trace.</summary>
        public string AssertOneLineError(int exit = 2)
        {
            Assert.True(Exit == exit, $"exit {Exit}, stderr: {Err}");
            string[] lines = Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + Err);
            Assert.StartsWith("encoderkit: ", lines[0]);
            return lines[0];
        }
    }

    /// <param name="environment">The only variables the run sees (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_HUB_OFFLINE…); none when null.</param>
    public static async Task<Result> RunAsync(string[] args, string? stdin = null, IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var output = new MemoryStream();
        var stdout = new StreamWriter(output, new UTF8Encoding(false));
        var stderr = new StringWriter();
        // On the thread pool: the commands run synchronous model code, and concurrent runs must really run side by side.
        int exit = await Task.Run(() => EncoderKitCli.RunAsync(args, new StringReader(stdin ?? ""), stdout, stderr, environment, cancellationToken))
            .WaitAsync(TimeSpan.FromMinutes(3)); // a hang fails the test, not the run
        stdout.Flush();
        byte[] bytes = output.ToArray();
        return new Result(exit, Encoding.UTF8.GetString(bytes), stderr.ToString(), bytes);
    }

    /// <summary>For synchronous tests.</summary>
    public static Result Run(string stdin, params string[] args) => RunAsync(args, stdin).GetAwaiter().GetResult();
}
