using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using EncoderKit.IO;
using EncoderKit.Tokenization;
using EncoderKit.Tests.Embeddings;
using EncoderKit.Tests.Hub;

namespace EncoderKit.Tests.Cli;

/// <summary>
/// What the command line does with what a user (or a service passing user text) gives it: '@' is text, an unknown option
/// is blamed by name, every failure is one line with an exit code that says its kind, and nothing is a stack trace.
/// </summary>
public sealed class CliErrorTests
{
    static readonly string BertTokenizer = ReferenceData.Tokenizer("bert-base-cased");

    static Task<CliRunner.Result> RunAsync(params string[] args) => CliRunner.RunAsync(args);

    [Fact]
    public async Task AnArgumentStartingWithAtIsTextNotAFileToRead()
    {
        string secret = Path.Combine(Path.GetTempPath(), $"encoderkit-secret-{Guid.NewGuid():N}.txt");
        File.WriteAllText(secret, "do-not-echo-this-line\n");
        try
        {
            var result = await RunAsync("tokenize", "--model", BertTokenizer, "--json", "@" + secret);
            Assert.True(result.Exit == 0, result.Err);
            Assert.DoesNotContain("do-not-echo", result.Out + result.Err);
            string[] tokens = JsonDocument.Parse(result.Out).RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
            Assert.Equal("@", tokens[1]);
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Theory]
    [InlineData("fill-mask")]
    [InlineData("embed")]
    [InlineData("similarity")]
    [InlineData("tokenize")]
    [InlineData("download")]
    public async Task NoCommandReadsResponseFiles(string command)
    {
        string[] args = command == "download" ? [command, "@john"] : [command, "--model", "./no-such-model-folder", "@john is a [MASK]."];
        var result = await CliRunner.RunAsync(args, environment: new Dictionary<string, string?> { ["HF_HUB_OFFLINE"] = "1" });
        string line = result.AssertOneLineError();
        Assert.DoesNotContain("esponse file", line);
    }

    [Fact]
    public async Task AnUnknownOptionIsBlamedNotTheText()
    {
        string line = (await RunAsync("tokenize", "--model", BertTokenizer, "--bogus", "Hello world")).AssertOneLineError();
        Assert.Contains("unknown option '--bogus'", line);
        Assert.DoesNotContain("Hello world", line);

        line = (await RunAsync("fill-mask", "--model", BertTokenizer, "--topk=3", "Hello [MASK].")).AssertOneLineError();
        Assert.Contains("'--topk'", line);

        // After "--" a leading dash is text.
        var dashed = await RunAsync("tokenize", "--model", BertTokenizer, "--json", "--", "-hello");
        Assert.True(dashed.Exit == 0, dashed.Err);
    }

    [Fact]
    public async Task AMissingOptionIsOneLineNamingIt()
    {
        string line = (await RunAsync("fill-mask", "Hello [MASK].")).AssertOneLineError();
        Assert.Contains("--model", line);
    }

    [Fact]
    public async Task RootHelpListsOnlyCommandsThatExist()
    {
        var help = await RunAsync("--help");
        Assert.Equal(0, help.Exit);
        string[] commands = help.Out[help.Out.IndexOf("Commands:", StringComparison.Ordinal)..].Split('\n').Skip(1)
            .Where(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => l.Trim().Split(' ')[0]).ToArray();
        Assert.Equal(["fill-mask", "classify", "tag", "answer", "rerank", "choose", "forward", "finetune", "train-embeddings", "tokenize", "embed", "similarity", "search", "evaluate", "serve",
            "prepare-corpus", "pretrain", "mask-preview", "average", "download", "cache", "env"], commands);
        foreach (string command in commands) Assert.Equal(0, (await RunAsync(command, "--help")).Exit);
    }

    [Theory]
    [InlineData("fill-mask")]
    [InlineData("classify")]
    [InlineData("tag")]
    [InlineData("answer")]
    [InlineData("rerank")]
    [InlineData("choose")]
    [InlineData("forward")]
    [InlineData("tokenize")]
    [InlineData("embed")]
    [InlineData("similarity")]
    [InlineData("search")]
    [InlineData("download")]
    public async Task EachOptionIsListedOnce(string command)
    {
        string help = (await RunAsync(command, "--help")).Out;
        var options = help.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('-'))
            .SelectMany(l => l.Split("  ")[0].Split(", ")).Select(o => o.Split(' ')[0]).ToList();
        Assert.Contains("--revision", options);
        Assert.Equal(options.Distinct().Count(), options.Count);
    }

    [Fact]
    public async Task AnOutputThatIsAFolderIsOneLineAndNothingIsComputed()
    {
        using var folder = new TempFolder();
        var result = await RunAsync("forward", "--model", ReferenceData.Model("bert"), "--inputs", Path.Combine(ReferenceData.Model("bert"), "inputs.safetensors"),
            "--output", folder.Path);
        string line = result.AssertOneLineError();
        Assert.Contains(folder.Path, line);
        Assert.Contains("--output", line);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder.Path));
    }

    [Fact]
    public async Task ASymlinkLoopIsOneLineNamingTheFile()
    {
        using var folder = TempFolder.FromReference("bert");
        File.Delete(folder.File("config.json"));
        File.CreateSymbolicLink(folder.File("loop.json"), folder.File("config.json"));
        File.CreateSymbolicLink(folder.File("config.json"), folder.File("loop.json"));
        Assert.Contains("config.json", (await BadInputTests.ForwardAsync(folder)).AssertOneLineError());
        Assert.False(File.Exists(folder.File("out.safetensors")));
    }

    [Fact]
    public async Task ACacheThatCannotBeWrittenIsOneLineNamingIt()
    {
        await using var bed = await HubTestBed.StartAsync(FakeModels.SentenceBert());
        string blocker = Path.Combine(bed.CacheDir, "a-file");
        File.WriteAllText(blocker, "");
        var result = await CliRunner.RunAsync(["download", "org/tiny-bert"], environment: new Dictionary<string, string?>
        {
            ["HF_ENDPOINT"] = bed.Hub.Endpoint, ["HF_HUB_CACHE"] = Path.Combine(blocker, "hub"),
        });
        string line = result.AssertOneLineError();
        Assert.Contains(Path.Combine(blocker, "hub"), line);
        Assert.Contains("cache", line);
    }

    [Fact]
    public async Task AnEmbedOutputThatIsAFolderOrASearchCacheThatCannotBeWrittenIsOneLine()
    {
        using var model = SentenceFolder.MeanNormalized();
        using var work = new TempFolder();
        var embed = await CliRunner.RunAsync(["embed", "--model", model.Path, "--output", work.Path, "hello"]);
        Assert.Contains(work.Path, embed.AssertOneLineError());
        Assert.Equal("", embed.Out);

        File.WriteAllText(work.File("corpus.txt"), "one\ntwo\n");
        File.WriteAllText(work.File("a-file"), "");
        string cache = Path.Combine(work.File("a-file"), "cache");
        var search = await CliRunner.RunAsync(["search", "--model", model.Path, "--corpus", work.File("corpus.txt"), "--query", "one", "--cache-dir", cache]);
        Assert.Contains(work.File("a-file"), search.AssertOneLineError());
        Assert.Equal("", search.Out);
    }

    [Fact]
    public async Task ABadSettingNamesTheFlagTyped()
    {
        using var folder = SentenceFolder.MeanNormalized();
        string line = (await RunAsync("embed", "--model", folder.Path, "--dim", "0", "hello")).AssertOneLineError();
        Assert.StartsWith("encoderkit: --dim: ", line);
        Assert.DoesNotContain("truncate_dim", line);
    }

    [Fact]
    public async Task PickleWeightsRefusedNameTheFlagThatAllowsThem()
    {
        using var folder = new TempFolder();
        folder.CopyFrom(ReferenceData.Model("bert"), "config.json");
        File.WriteAllBytes(folder.File("pytorch_model.bin"), [0x80, 0x02]);
        Assert.Contains("--allow-pickle", (await BadInputTests.ForwardAsync(folder)).AssertOneLineError());
    }

    /// <summary>Standard output that breaks: what no user input can cause, so it is an internal error.</summary>
    sealed class BrokenWriter : StringWriter
    {
        public override void Write(char value) => throw new InvalidOperationException("this writer is broken");
        public override void Write(string? value) => throw new InvalidOperationException("this writer is broken");
    }

    [Fact]
    public async Task AnInternalErrorIsOneLinePointingToTheFullReport()
    {
        var stderr = new StringWriter();
        int exit = await EncoderKit.Cli.EncoderKitCli.RunAsync(["tokenize", "--model", BertTokenizer, "Hello"], new StringReader(""), new BrokenWriter(), stderr);
        var result = new CliRunner.Result(exit, "", stderr.ToString(), []);
        string line = result.AssertOneLineError(exit: 1);
        Assert.StartsWith("encoderkit: internal error: this writer is broken (the full report is in ", line);
        string report = line[(line.LastIndexOf(" is in ", StringComparison.Ordinal) + " is in ".Length)..].TrimEnd(')');
        try
        {
            Assert.Contains("   at ", File.ReadAllText(report)); // the stack trace went to the file, not to standard error
        }
        finally
        {
            File.Delete(report);
        }
    }

    [Fact]
    public async Task CancellingIsExitCode130()
    {
        await using var bed = await HubTestBed.StartAsync(FakeModels.SentenceBert());
        bed.Hub.Faults.Add(new Fault("/api/models/", FaultKind.Slow, Times: 1));
        using var cancel = new CancellationTokenSource();
        Task<CliRunner.Result> run = CliRunner.RunAsync(["download", "org/tiny-bert"], environment: new Dictionary<string, string?>
        {
            ["HF_ENDPOINT"] = bed.Hub.Endpoint, ["HF_HUB_CACHE"] = bed.CacheDir,
        }, cancellationToken: cancel.Token);
        while (bed.Hub.Count("GET", "/api/models/") == 0) await Task.Delay(10); // the request is held by the hub
        cancel.Cancel();
        var result = await run;
        Assert.Equal("encoderkit: cancelled", result.AssertOneLineError(exit: 130));
    }

    /// <summary>A loopback port nothing listens on: bound, then closed.</summary>
    internal static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Theory]
    [InlineData("refused")]
    [InlineData("unresolvable")]
    public async Task AnUnreachableHubWithNothingCachedIsExitCode3AndSaysHowToWorkOffline(string how)
    {
        using var cache = new TempFolder();
        string endpoint = how == "refused" ? $"http://127.0.0.1:{ClosedPort()}" : "http://encoderkit-test-host.invalid";
        var result = await CliRunner.RunAsync(["download", "org/tiny-bert"], environment: new Dictionary<string, string?>
        {
            ["HF_ENDPOINT"] = endpoint, ["HF_HUB_CACHE"] = cache.Path,
        });
        string line = result.AssertOneLineError(exit: 3);
        Assert.Contains("HF_HUB_OFFLINE=1", line);
        Assert.Contains("local model folder", line);
        Assert.Equal("", result.Out);
    }

    [Fact]
    public async Task TokenizeTakesAHubIdAndFetchesOnlyTheTokenizer()
    {
        var repo = new FakeRepo("org/tokenizer-only", new()
        {
            ["config.json"] = FakeModels.Text("""{"model_type": "bert"}"""),
            ["model.safetensors"] = FakeModels.Weights(10_000, seed: 5),
            ["tokenizer.json"] = new FakeFile(File.ReadAllBytes(Path.Combine(BertTokenizer, "tokenizer.json")), lfs: false),
            ["vocab.txt"] = new FakeFile(File.ReadAllBytes(Path.Combine(BertTokenizer, "vocab.txt")), lfs: false),
        });
        await using var bed = await HubTestBed.StartAsync(repo);
        var result = await CliRunner.RunAsync(["tokenize", "--model", repo.Id, "--json", "Hello world"], environment: new Dictionary<string, string?>
        {
            ["HF_ENDPOINT"] = bed.Hub.Endpoint, ["HF_HUB_CACHE"] = bed.CacheDir,
        });
        Assert.True(result.Exit == 0, result.Err);
        var expected = Tokenizer.FromFolder(BertTokenizer).Encode("Hello world");
        Assert.Equal(expected.Ids, JsonDocument.Parse(result.Out).RootElement.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
        Assert.DoesNotContain(bed.Hub.Requests, r => r.Path.Contains("model.safetensors", StringComparison.Ordinal)
            || r.Path.Contains(repo.Files["model.safetensors"].Sha256, StringComparison.Ordinal));
    }
}
