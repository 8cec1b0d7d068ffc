using System.Text.Json;
using EncoderKit.Inference;

namespace EncoderKit.Tests.Cli;

/// <summary>
/// tag, answer, rerank and choose: each prints the library pipeline's answers (checked against the model's logits in
/// the Inference tests) as JSON lines in input order, in the Hugging Face pipelines' shapes; bad input is one line on
/// stderr and exit 2. Scores within 1e-5: the command may batch differently from the library call it is compared with.
/// </summary>
public sealed class PipelineCommandTests
{
    const double Tolerance = 1e-5;

    static string[] Lines(CliRunner.Result result)
    {
        Assert.True(result.Exit == 0, result.Err);
        return result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public async Task TagPrintsEntitiesWithCodePointOffsetsInInputOrder()
    {
        using var folder = TempFolder.FromReference("bert-tokcls", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var tagger = new TokenClassifier(model);
        // An astral character first: the library's UTF-16 offsets are one more than the code points Python counts.
        string[] texts = ["😀 Enzo lives in New York.", "Sarah works for Acme."];
        string[] lines = Lines(await CliRunner.RunAsync(["tag", "--model", folder.Path, "--ignore-labels"], string.Join("\n", texts) + "\n"));
        Assert.Equal(texts.Length, lines.Length);
        for (int t = 0; t < texts.Length; t++)
        {
            var expected = tagger.Tag(texts[t], ignoreLabels: []);
            var printed = JsonDocument.Parse(lines[t]).RootElement.EnumerateArray().ToList();
            Assert.Equal(expected.Select(e => (e.Entity, e.Index, e.Word)), printed.Select(p => (p.GetProperty("entity").GetString()!, (int?)p.GetProperty("index").GetInt32(), p.GetProperty("word").GetString()!)));
            int CodePoints(int utf16) => texts[t][..utf16].EnumerateRunes().Count();
            Assert.Equal(expected.Select(e => (CodePoints(e.Start), CodePoints(e.End))), printed.Select(p => (p.GetProperty("start").GetInt32(), p.GetProperty("end").GetInt32())));
            if (t == 0) Assert.Equal(3, expected.First(e => e.Word == "En").Start);   // "😀 " is three UTF-16 units, two code points
            foreach (var (e, p) in expected.Zip(printed)) Assert.True(Math.Abs(e.Score - p.GetProperty("score").GetDouble()) <= Tolerance, lines[t]);
        }

        string grouped = Lines(await CliRunner.RunAsync(["tag", "--model", folder.Path, "--aggregation", "average", texts[1]])).Single();
        var groups = tagger.Tag(texts[1], AggregationStrategy.Average);
        var printedGroups = JsonDocument.Parse(grouped).RootElement.EnumerateArray().ToList();
        Assert.Equal(groups.Select(g => (g.Entity, g.Word, g.Start, g.End)),
            printedGroups.Select(p => (p.GetProperty("entity_group").GetString()!, p.GetProperty("word").GetString()!, p.GetProperty("start").GetInt32(), p.GetProperty("end").GetInt32())));

        Assert.Contains("--aggregation", (await CliRunner.RunAsync(["tag", "--model", folder.Path, "--aggregation", "mean", "x"])).AssertOneLineError());
    }

    [Fact]
    public async Task AnswerPrintsTheBestSpanOrTheTopKFromOptionsOrJsonLines()
    {
        using var folder = TempFolder.FromReference("bert-qa", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var answerer = new QuestionAnswerer(model);
        const string question = "Where does Sarah live?", context = "Sarah lives in Paris with her cat.";
        Answer best = answerer.Answer(question, context)[0];

        JsonElement single = JsonDocument.Parse(Lines(await CliRunner.RunAsync(["answer", "--model", folder.Path, "-q", question, "-c", context])).Single()).RootElement;
        Assert.Equal((best.Start, best.End, best.Text), (single.GetProperty("start").GetInt32(), single.GetProperty("end").GetInt32(), single.GetProperty("answer").GetString()));
        Assert.True(Math.Abs(best.Score - single.GetProperty("score").GetDouble()) <= Tolerance);

        using var temp = new TempFolder();
        File.WriteAllText(temp.File("context.txt"), context);
        string jsonl = JsonSerializer.Serialize(new { question = "Who has a cat?", context }) + "\n" + JsonSerializer.Serialize(new { question, context }) + "\n";
        string[] lines = Lines(await CliRunner.RunAsync(["answer", "--model", folder.Path, "--top-k", "2", "--max-answer-len", "3"], jsonl));
        Assert.Equal(2, lines.Length);
        var expected = await answerer.AnswerAsync([new("Who has a cat?", context), new(question, context)], new AnswerOptions(TopK: 2, MaxAnswerLength: 3));
        for (int i = 0; i < 2; i++)
            Assert.Equal(expected[i].Select(a => a.Text), JsonDocument.Parse(lines[i]).RootElement.EnumerateArray().Select(a => a.GetProperty("answer").GetString()));
        string fromFile = Lines(await CliRunner.RunAsync(["answer", "--model", folder.Path, "-q", question, "--context-file", temp.File("context.txt")])).Single();
        Assert.Equal(best.Text, JsonDocument.Parse(fromFile).RootElement.GetProperty("answer").GetString());

        Assert.Contains("--top-k", (await CliRunner.RunAsync(["answer", "--model", folder.Path, "-q", question, "-c", context, "--top-k", "0"])).AssertOneLineError());
        Assert.Contains("question is empty", (await CliRunner.RunAsync(["answer", "--model", folder.Path, "-q", "", "-c", context])).AssertOneLineError());
        Assert.Contains("context is empty", (await CliRunner.RunAsync(["answer", "--model", folder.Path, "-q", question, "-c", " "])).AssertOneLineError());
        Assert.Contains("--context", (await CliRunner.RunAsync(["answer", "--model", folder.Path, "-q", question])).AssertOneLineError());
        Assert.Contains("line 1", (await CliRunner.RunAsync(["answer", "--model", folder.Path], "{\"question\": \"Where?\"}\n")).AssertOneLineError());
    }

    [Fact]
    public async Task RerankPrintsIndexAndScoreBestFirst()
    {
        using var folder = TempFolder.FromReference("bert-seqcls-regression", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        string[] documents = ["Cats sleep in boxes.", "Stocks fell.", "Dogs bark at cats."];
        var expected = new CrossEncoder(model).Rank("cats", documents);
        string[] lines = Lines(await CliRunner.RunAsync(["rerank", "--model", folder.Path, "--query", "cats", "--batch-size", "2"], string.Join("\n", documents) + "\n"));
        var printed = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(expected.Select(r => r.Index), printed.Select(p => p.GetProperty("index").GetInt32()));
        foreach (var (e, p) in expected.Zip(printed)) Assert.True(Math.Abs(e.Score - p.GetProperty("score").GetDouble()) <= Tolerance);
        Assert.Single(Lines(await CliRunner.RunAsync(["rerank", "--model", folder.Path, "--query", "cats", "--top-k", "1"], string.Join("\n", documents) + "\n")));

        Assert.Contains("line 2", (await CliRunner.RunAsync(["rerank", "--model", folder.Path, "--query", "cats"], "Cats sleep.\n\nDogs bark.\n")).AssertOneLineError());
        Assert.Contains("--top-k", (await CliRunner.RunAsync(["rerank", "--model", folder.Path, "--query", "cats", "--top-k", "0"], "Cats sleep.\n")).AssertOneLineError());
        Assert.Contains("--batch-size", (await CliRunner.RunAsync(["rerank", "--model", folder.Path, "--query", "cats", "--batch-size", "0"], "Cats sleep.\n")).AssertOneLineError());
        Assert.Contains("no documents", (await CliRunner.RunAsync(["rerank", "--model", folder.Path, "--query", "cats"], "")).AssertOneLineError());
    }

    [Fact]
    public async Task ChooseReadsQuestionsWithChoicesAndPrintsScoresAndLabel()
    {
        using var folder = TempFolder.FromReference("bert-mc", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        ChoiceQuestion[] questions = [new("The cat sat on the", ["mat.", "moon.", "chair."]), new("Paris is in", ["France.", "Peru."])];
        var expected = await new MultipleChoice(model).ChooseAsync(questions);
        string jsonl = string.Join("\n", questions.Select(q => JsonSerializer.Serialize(new { question = q.Question, choices = q.Choices }))) + "\n";
        string[] lines = Lines(await CliRunner.RunAsync(["choose", "--model", folder.Path, "--batch-size", "1"], jsonl));
        Assert.Equal(2, lines.Length);
        for (int q = 0; q < 2; q++)
        {
            JsonElement line = JsonDocument.Parse(lines[q]).RootElement;
            Assert.Equal(expected[q].Label, line.GetProperty("label").GetInt32());
            double[] scores = [.. line.GetProperty("scores").EnumerateArray().Select(s => s.GetDouble())];
            Assert.Equal(expected[q].Scores.Count, scores.Length);
            foreach (var (e, p) in expected[q].Scores.Zip(scores)) Assert.True(Math.Abs(e - p) <= Tolerance, lines[q]);
        }

        string error = (await CliRunner.RunAsync(["choose", "--model", folder.Path], jsonl + "{\"question\": \"Pick\", \"choices\": [\"only\"]}\n")).AssertOneLineError();
        Assert.Contains("line 3", error);
        Assert.Contains("at least two", error);
        using var qa = TempFolder.FromReference("bert-qa", "bert-base-cased");
        Assert.Contains("multiple-choice head", (await CliRunner.RunAsync(["choose", "--model", qa.Path], jsonl)).AssertOneLineError());
    }
}
