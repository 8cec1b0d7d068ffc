using System.Text.Json;
using EncoderKit.Tests.Cli;

namespace EncoderKit.Tests.FineTuning;

/// <summary>
/// Bad data and settings for <c>encoderkit finetune</c>: each one line "encoderkit: FILE: line N: …" (or the option),
/// exit code 2, before any training (no train_log.jsonl, no checkpoint).
/// </summary>
public sealed class FinetuneBadInputTests : IDisposable
{
    readonly TempFolder folder = new();
    readonly string model;

    public FinetuneBadInputTests()
    {
        model = TinyTasks.BaseModel(folder.File("base"));
        TinyTasks.WriteSentiment(folder.File("train.jsonl"), 20, 1);
    }

    public void Dispose() => folder.Dispose();

    async Task<string> Fails(string task, string train, string? validation = null, params string[] more)
    {
        string[] args = ["finetune", "--model", model, "--task", task, "--train", train, "--output", folder.File("out"), "--max-steps", "2", .. more];
        if (validation is not null) args = [.. args, "--validation", validation];
        string line = (await CliRunner.RunAsync(args)).AssertOneLineError();
        Assert.False(File.Exists(folder.File("out/train_log.jsonl")), "training started");
        return line;
    }

    [Fact]
    public async Task AValidationLabelNeverSeenInTrainingNamesFileLineAndColumn()
    {
        File.WriteAllLines(folder.File("validation.jsonl"), [JsonSerializer.Serialize(new { text = "good", label = "pos" }), JsonSerializer.Serialize(new { text = "meh", label = "mixed" })]);
        string line = await Fails("text-classification", folder.File("train.jsonl"), folder.File("validation.jsonl"));
        Assert.Contains("validation.jsonl: line 2: column 'label' has the label 'mixed'", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmptyMissingAndUnreadableFilesAreNamed()
    {
        File.WriteAllText(folder.File("empty.jsonl"), "\n\n");
        Assert.Contains("empty.jsonl: the data file holds no examples", await Fails("text-classification", folder.File("empty.jsonl")), StringComparison.Ordinal);
        Assert.Contains("absent.jsonl: data file not found", await Fails("text-classification", folder.File("absent.jsonl")), StringComparison.Ordinal);
        File.WriteAllLines(folder.File("broken.jsonl"), ["{\"text\": \"good\", \"label\": \"pos\"}", "{\"text\": "]);
        Assert.Contains("broken.jsonl: line 2: not JSON", await Fails("text-classification", folder.File("broken.jsonl")), StringComparison.Ordinal);
        File.WriteAllText(folder.File("data.xlsx"), "x");
        Assert.Contains("unknown data format '.xlsx'", await Fails("text-classification", folder.File("data.xlsx")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingColumnListsTheColumnsThereAre()
    {
        string line = await Fails("text-classification", folder.File("train.jsonl"), null, "--text-column", "sentence");
        Assert.Contains("train.jsonl: line 1: column 'sentence' is missing (columns: text, label)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AQuestionAnswerNotAtItsStartIsNamed()
    {
        File.WriteAllLines(folder.File("qa.jsonl"),
        [
            JsonSerializer.Serialize(new { question = "what color ?", context = "the red film", answers = new { text = new[] { "red" }, answer_start = new[] { 4 } } }),
            JsonSerializer.Serialize(new { question = "what color ?", context = "the blue film", answers = new { text = new[] { "blue" }, answer_start = new[] { 3 } } }),
        ]);
        string line = await Fails("question-answering", folder.File("qa.jsonl"));
        Assert.Contains("qa.jsonl: line 2: column 'answers.answer_start[0]' the answer \"blue\" is not at character 3 of its context", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--learning-rate", "0", "--learning-rate: the learning rate 0 is not > 0")]
    [InlineData("--learning-rate", "-1e-5", "--learning-rate: the learning rate -1E-05 is not > 0")]
    [InlineData("--batch-size", "0", "--batch-size: the batch size 0 is not ≥ 1")]
    public async Task BadSettingsFailBeforeTraining(string option, string value, string expected)
    {
        string line = await Fails("text-classification", folder.File("train.jsonl"), null, option, value);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLlamaStyleEncoderFailsByName()
    {
        using var llama = TempFolder.FromReference("llama_enc");
        File.WriteAllLines(llama.File("vocab.txt"), TinyTasks.Vocabulary);
        string line = (await CliRunner.RunAsync(["finetune", "--model", llama.Path, "--task", "text-classification", "--train", folder.File("train.jsonl"), "--output", folder.File("out")])).AssertOneLineError();
        Assert.Contains("the llama_enc family has no text-classification head layout", line, StringComparison.Ordinal);
    }
}
