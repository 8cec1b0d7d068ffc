using System.Diagnostics;
using System.IO.Compression;

namespace EncoderKit.Tests.Packaging;

/// <summary>
/// The EncoderKit package works where the repository does: packed to a local feed, referenced by a fresh console
/// project outside the repository, it loads a model and runs a forward pass. On Debian 12 that needs the libstdc++
/// fix the package carries as buildTransitive targets (without it: DllNotFoundException GLIBCXX_3.4.32).
/// </summary>
/// <remarks>
/// The package gets a version no other run uses and is restored into a private packages folder (the machine's global
/// folder serves TorchSharp as a read-only fallback), so the global NuGet cache never holds a stale EncoderKit.
/// </remarks>
public sealed class LibraryPackageTests
{
    const string Program = """
        using EncoderKit;
        using EncoderKit.IO;
        using static TorchSharp.torch;

        var config = ConfigJson.Parse(
            "{\"model_type\": \"bert\", \"architectures\": [\"BertForMaskedLM\"], \"hidden_size\": 32, \"num_attention_heads\": 4, " +
            "\"num_hidden_layers\": 2, \"intermediate_size\": 64, \"vocab_size\": 50, \"max_position_embeddings\": 16}", "tiny/config.json");
        using var model = EncoderModel.CreateRandom(config, seed: 1);
        using var ids = tensor(new long[] { 2, 5, 7, 3 }, new long[] { 1, 4 });
        using var outputs = model.Forward(ids);
        Tensor h = outputs.LastHiddenState, logits = outputs.MlmLogits!;
        Console.WriteLine($"last_hidden_state [{string.Join(", ", h.shape)}] mlm_logits [{string.Join(", ", logits.shape)}] finite {h.isfinite().all().item<bool>() && logits.isfinite().all().item<bool>()}");
        """;

    [Fact, Trait("speed", "slow")]
    public async Task AConsoleProjectReferencingThePackageLoadsAndRunsAModel()
    {
        string repository = Fuzz.FuzzKinds.RepositoryRoot();
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        string version = $"0.0.0-packagetest.{Guid.NewGuid():N}";
        using var temp = new TempFolder();
        Assert.False(temp.Path.StartsWith(repository, StringComparison.Ordinal), "the consumer must live outside the repository");
        string feed = temp.File("feed"), app = temp.File("app");

        await Dotnet(repository, "pack", Path.Combine(repository, "src", "EncoderKit", "EncoderKit.csproj"), "-c", configuration, "--no-build",
            "-o", feed, $"-p:Version={version}");
        string package = Path.Combine(feed, $"EncoderKit.{version}.nupkg");
        using (ZipArchive zip = ZipFile.OpenRead(package))
            Assert.Contains("buildTransitive/EncoderKit.targets", zip.Entries.Select(e => e.FullName));

        string globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        Directory.CreateDirectory(app);
        // Empty Directory.Build files stop MSBuild from picking up any above the temp folder.
        File.WriteAllText(temp.File("Directory.Build.props"), "<Project />");
        File.WriteAllText(temp.File("Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <RestorePackagesPath>{temp.File("packages")}</RestorePackagesPath>
                <RestoreAdditionalProjectFallbackFolders>{globalPackages}</RestoreAdditionalProjectFallbackFolders>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="EncoderKit" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        // The local feed beside the machine's own sources (inherited from the user-level NuGet.Config).
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <configuration>
              <packageSources>
                <add key="encoderkit-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), Program);

        await Dotnet(app, "build", "-c", "Release");
        Assert.False(Directory.Exists(Path.Combine(globalPackages, "encoderkit", version)), "EncoderKit leaked into the global packages folder");
        string output = await Dotnet(app, Path.Combine(app, "bin", "Release", "net10.0", "app.dll"));
        Assert.Equal("last_hidden_state [1, 4, 32] mlm_logits [1, 4, 50] finite True", output.Trim());
    }

    static async Task<string> Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(), error = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(10));   // a hang fails the test, not the run
        await process.WaitForExitAsync(limit.Token);
        string text = await output;
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{text}\n{await error}");
        return text;
    }
}
