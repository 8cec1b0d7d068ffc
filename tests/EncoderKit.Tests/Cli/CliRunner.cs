using System.Diagnostics;

namespace EncoderKit.Tests.Cli;

/// <summary>Runs the built `encoderkit` CLI as a separate process, the way a user runs it.</summary>
public static class CliRunner
{
    /// <summary>The CLI beside these tests: tests/EncoderKit.Tests/bin/{Configuration}/{framework}/ ↔ src/EncoderKit.Cli/bin/...</summary>
    public static string CliPath { get; } = Locate();

    public sealed record Result(int Exit, string Out, string Err)
    {
        /// <summary>Asserts a user error: exit code 2 and exactly one "encoderkit: ..." line on stderr, no stack trace.</summary>
        public string AssertOneLineError()
        {
            Assert.True(Exit == 2, $"exit {Exit}, stderr: {Err}");
            string[] lines = Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + Err);
            Assert.StartsWith("encoderkit: ", lines[0]);
            return lines[0];
        }
    }

    /// <param name="environment">Variables to set; a null value removes the variable.</param>
    /// <param name="withoutPrefixes">Variables of the test process to leave out (e.g. "HF_", so a developer's own settings do not leak in).</param>
    public static async Task<Result> RunAsync(string[] args, string? stdin = null, IDictionary<string, string?>? environment = null, params string[] withoutPrefixes)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(CliPath);
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (string name in start.Environment.Keys.Where(k => withoutPrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal))).ToList())
            start.Environment.Remove(name);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(), error = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3)); // a hang fails the test, not the run
        await process.WaitForExitAsync(limit.Token);
        return new Result(process.ExitCode, await output, await error);
    }

    static string Locate()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = here.Name, configuration = here.Parent!.Name;
        for (DirectoryInfo? dir = here; dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EncoderKit.slnx")))
                return Path.Combine(dir.FullName, "src", "EncoderKit.Cli", "bin", configuration, framework, "EncoderKit.Cli.dll");
        throw new InvalidOperationException("no EncoderKit.slnx above " + AppContext.BaseDirectory);
    }
}
