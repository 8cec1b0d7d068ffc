using EncoderKit.Compute;

namespace EncoderKit.Tests.Cli;

public sealed class EnvCommandTests
{
    [Fact]
    public async Task EnvNamesTheKernelsAndTheHubSettingsButNotTheToken()
    {
        using var folder = new TempFolder();
        string cache = folder.File("hub");
        var run = await CliRunner.RunAsync(["env"], environment: new Dictionary<string, string?> { ["HF_HUB_CACHE"] = cache, ["HF_TOKEN"] = "hf_secret123" });
        Assert.True(run.Exit == 0, run.Err);
        string[] lines = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("libtorch: 2.", StringComparison.Ordinal));
        // MKL's own answer, read after libtorch loaded: on this project's x86-64 Linux machines, never the generic path.
        string kernels = Assert.Single(lines, l => l.StartsWith("MKL kernels: ", StringComparison.Ordinal));
        Assert.Contains($"(vendor check: {MklCpuDispatch.VendorCheck})", kernels);
        Assert.DoesNotContain("generic", kernels);
        Assert.Contains($"hub cache: {cache}", lines);
        Assert.Contains($"HF_HUB_CACHE: {cache}", lines);
        Assert.Contains("HF_TOKEN: set", lines);
        Assert.DoesNotContain("hf_secret123", run.Out);
    }
}
