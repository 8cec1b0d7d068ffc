using System.Text.Json;

namespace EncoderKit.Tests.Cli;

/// <summary>`encoderkit fill-mask` takes its texts from standard input or a file, one per line, as `embed` does.</summary>
public sealed class FillMaskInputTests
{
    static JsonElement Json(CliRunner.Result result)
    {
        Assert.True(result.Exit == 0, result.Err);
        return JsonDocument.Parse(result.Out).RootElement.Clone();
    }

    [Fact]
    public async Task TextsFromStandardInputOrAFileGiveWhatEachTextGivesAlone()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        string[] texts = ["Paris is the [MASK] of France.", "@john is a [MASK] person."];
        JsonElement[] alone = await Task.WhenAll(texts.Select(async t => Json(await CliRunner.RunAsync(["fill-mask", "--model", folder.Path, "--json", t]))));

        JsonElement piped = Json(await CliRunner.RunAsync(["fill-mask", "--model", folder.Path, "--json"], string.Join("\n", texts) + "\n"));
        File.WriteAllLines(folder.File("texts.txt"), texts);
        JsonElement fromFile = Json(await CliRunner.RunAsync(["fill-mask", "--model", folder.Path, "--json", "--input", folder.File("texts.txt")]));

        foreach (JsonElement many in new[] { piped, fromFile })
        {
            Assert.Equal(texts.Length, many.GetArrayLength());
            for (int i = 0; i < texts.Length; i++) Assert.True(JsonElement.DeepEquals(alone[i], many[i]), $"text {i}: {many[i]}");
        }
    }

    [Fact]
    public async Task TextAndInputTogetherIsOneLine()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        string line = (await CliRunner.RunAsync(["fill-mask", "--model", folder.Path, "--input", "-", "A [MASK]."])).AssertOneLineError();
        Assert.Contains("--input", line);
    }
}
