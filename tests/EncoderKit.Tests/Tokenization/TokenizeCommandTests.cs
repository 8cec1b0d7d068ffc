using EncoderKit.Tests.Cli;
using System.Text.Json;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Tokenization;

/// <summary>`encoderkit tokenize`, run in-process through the command line.</summary>
public class TokenizeCommandTests
{
    static (int Exit, string Out, string Err) Run(string stdin, params string[] args)
    {
        var result = CliRunner.Run(stdin, args);
        return (result.Exit, result.Out, result.Err);
    }

    [Fact]
    public void JsonLinesInGiveOneObjectPerLineMatchingTheLibrary()
    {
        string dir = ReferenceData.Tokenizer("bert-base-cased");
        var inputs = new[] { ("Hello, world!", (string?)null), ("東京はどこ？", "日本の首都です。"), ("😀 emoji", null) };
        string stdin = string.Join("\n", inputs.Select(i => JsonSerializer.Serialize(new { text = i.Item1, text_pair = i.Item2 }))) + "\n";
        var (exit, stdout, stderr) = Run(stdin, "tokenize", "--model", dir, "--jsonl");
        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(inputs.Length, lines.Length);
        var tok = Tokenizer.FromFolder(dir);
        for (int i = 0; i < inputs.Length; i++)
        {
            var expected = tok.Encode(inputs[i].Item1, inputs[i].Item2);
            var got = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal(expected.Ids, got.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
            Assert.Equal(expected.Tokens, got.GetProperty("tokens").EnumerateArray().Select(x => x.GetString()));
            Assert.Equal(expected.TypeIds, got.GetProperty("type_ids").EnumerateArray().Select(x => x.GetInt32()));
            Assert.Equal(expected.Offsets, got.GetProperty("offsets").EnumerateArray().Select(o => (o[0].GetInt32(), o[1].GetInt32())));
        }
    }

    [Theory]
    [InlineData("bert-base-cased")]
    [InlineData("nomic-bert-2048")]
    [InlineData("modernbert-embed-base")]
    [InlineData("tohokunlp-bert-500m-sq4096-alpha")]
    [InlineData("retrieva-bert-1.3b")]
    public void EveryFamilyFolderWorks(string family)
    {
        var (exit, stdout, stderr) = Run("Hello, world!\n東京\n", "tokenize", "--model", ReferenceData.Tokenizer(family), "--json");
        Assert.True(exit == 0, stderr);
        var first = JsonDocument.Parse(stdout.Split('\n')[0]).RootElement;
        var expected = ReferenceCase.Load(family).First(c => c.Text == "Hello, world!");
        Assert.Equal(expected.Ids, first.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
    }

    [Fact]
    public void ABadJsonLineIsAnErrorNamingTheLine()
    {
        var (exit, _, stderr) = Run("{\"text\": \"fine\"}\n{not json\n", "tokenize", "--model", ReferenceData.Tokenizer("nomic-bert-2048"), "--jsonl");
        Assert.NotEqual(0, exit);
        Assert.StartsWith("encoderkit: stdin: line 2: malformed JSON", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void PlainTextArgumentAndStdinLinesWithMaxLength()
    {
        string dir = ReferenceData.Tokenizer("bert-base-cased");
        var (exit, stdout, _) = Run("", "tokenize", "--model", dir, "Hello world");
        Assert.Equal(0, exit);
        Assert.Contains("8667", stdout);
        Assert.Contains("Hello", stdout);
        var (exit2, stdout2, stderr2) = Run("one two three four five\nsix\n", "tokenize", "--model", dir, "--json", "--max-length", "4");
        Assert.Equal(0, exit2);
        var lines = stdout2.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal(4, JsonDocument.Parse(lines[0]).RootElement.GetProperty("ids").GetArrayLength());
        Assert.Contains("truncated", stderr2);
    }
}
