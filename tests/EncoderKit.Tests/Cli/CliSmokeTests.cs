namespace EncoderKit.Tests.Cli;

/// <summary>
/// The real `encoderkit` binary, started as a process: exit codes, one line on stderr, standard input through a pipe.
/// (Also as processes: two downloads sharing the cache in CliHubTests, a progress bar on a terminal in EmbeddingCommandTests.)
/// </summary>
[Trait("speed", "slow")]
public sealed class CliSmokeTests
{
    [Fact]
    public async Task ABadModelFolderIsExitCode2AndOneLineOnStderr()
    {
        var result = await CliProcess.RunAsync(["forward", "--model", "./no-such-folder", "--inputs", "in.safetensors", "--output", "out.safetensors"]);
        Assert.Contains("no-such-folder", result.AssertOneLineError());
        Assert.Equal("", result.Out);
    }

    [Fact]
    public async Task TextsArePipedThroughStandardInputAndAnAtSignIsText()
    {
        var result = await CliProcess.RunAsync(["tokenize", "--model", ReferenceData.Tokenizer("bert-base-cased"), "--json"], "Hello world\n@john\n");
        Assert.True(result.Exit == 0, result.Err);
        string[] lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"@\"", lines[1]);
        Assert.Equal("", result.Err);
    }

    [Fact]
    public async Task AnUnknownOptionIsExitCode2()
    {
        var result = await CliProcess.RunAsync(["tokenize", "--model", ReferenceData.Tokenizer("bert-base-cased"), "--nope", "text"]);
        Assert.Contains("'--nope'", result.AssertOneLineError());
    }
}
