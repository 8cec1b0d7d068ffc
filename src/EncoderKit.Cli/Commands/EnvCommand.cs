using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using EncoderKit.Compute;
using EncoderKit.Hub;
using static TorchSharp.torch;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit env</c>: what a bug report or a speed question needs to know about this machine and install, as
/// <c>transformers env</c> prints it: versions, the CPU and what it computes natively, libtorch's threads and the MKL
/// kernels in use, and the hub settings (a token only as set or not).
/// </summary>
static class EnvCommand
{
    static readonly string[] HubVariables = ["HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN", "HF_TOKEN_PATH"];

    public static Command Create(CliInvocation cli)
    {
        var command = new Command("env", "Print versions, the CPU, libtorch's threads and MKL kernels, and the hub settings, for bug reports");
        command.SetAction(parsed =>
        {
            TextWriter o = cli.Out;
            o.WriteLine($"EncoderKit: {Version(typeof(EncoderModel).Assembly)}");
            o.WriteLine($".NET: {RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier})");
            o.WriteLine($"OS: {RuntimeInformation.OSDescription}");
            o.WriteLine($"CPU: {CpuName()}, {Environment.ProcessorCount} logical cores; bf16 {CpuBFloat16.Description}");
            o.WriteLine($"libtorch: {__version__} (TorchSharp {Version(typeof(TorchSharp.torch).Assembly)}), {get_num_threads()} threads");
            string failure = MklCpuDispatch.FailureReason is { } reason ? $": {reason}" : "";
            o.WriteLine($"MKL kernels: {MklCpuDispatch.KernelBranch()} (vendor check: {MklCpuDispatch.VendorCheck}{failure})");
            o.WriteLine($"hub cache: {HubCache.Folder(cli.Hub())}");
            foreach (string name in HubVariables)
                if (cli.Environment.GetValueOrDefault(name) is { Length: > 0 } value)
                    o.WriteLine($"{name}: {(name == "HF_TOKEN" ? "set" : value)}");
            return 0;
        });
        return command;
    }

    static string Version(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The CPU's model name from /proc/cpuinfo; the architecture elsewhere. Benchmark headers print it too.</summary>
    internal static string CpuName()
    {
        try
        {
            return File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
                : RuntimeInformation.ProcessArchitecture.ToString();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unknown";
        }
    }
}
