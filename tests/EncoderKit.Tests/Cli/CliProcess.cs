using System.Diagnostics;

namespace EncoderKit.Tests.Cli;

/// <summary>
/// Runs the built `encoderkit` as a separate process, the way a user runs it. Slow (a .NET start per call): only for the
/// smoke tests of the binary itself (exit codes, stderr, pipes, a terminal, processes sharing the cache); every other
/// CLI test runs in-process through <see cref="CliRunner"/>.
/// </summary>
public static class CliProcess
{
    /// <summary>
    /// The CLI from its own build output (src/EncoderKit.Cli/bin/{Configuration}/{framework}/): the copy beside the tests
    /// would run with the tests' dependency set, in which ASP.NET Core stands in for packages the command needs on its own.
    /// </summary>
    public static string CliPath { get; } = Locate();

    /// <param name="environment">Variables to set; a null value removes the variable.</param>
    /// <param name="withoutPrefixes">Variables of the test process to leave out (e.g. "HF_", so a developer's own settings do not leak in).</param>
    public static async Task<CliRunner.Result> RunAsync(string[] args, string? stdin = null, IDictionary<string, string?>? environment = null, params string[] withoutPrefixes)
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
        var bytes = new MemoryStream();
        Task output = process.StandardOutput.BaseStream.CopyToAsync(bytes);
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3)); // a hang fails the test, not the run
        await process.WaitForExitAsync(limit.Token);
        await output;
        return new CliRunner.Result(process.ExitCode, System.Text.Encoding.UTF8.GetString(bytes.ToArray()), await error, bytes.ToArray());
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
