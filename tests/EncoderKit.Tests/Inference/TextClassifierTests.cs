using System.Text.Json;
using EncoderKit.Inference;
using EncoderKit.Runtime;
using EncoderKit.Tests.Cli;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// The text-classification pipeline on the sequence-classification fixtures: its scores are the pipeline's function
/// (softmax, sigmoid, or none for regression) of the reference's own classifier logits for the fixture's input ids,
/// computed here in double precision from expected.safetensors. Tolerance 1e-5: the fixtures' logits are of order
/// one and ours match them within float32 rounding (worst score difference measured: 6e-7, batch or alone);
/// softmax moves a score by at most half the logits' error, sigmoid a quarter, so 1e-5 leaves room for another BLAS's
/// summation order while still failing on any wrong function, label order, pooling or padding leak.
/// </summary>
public sealed class TextClassifierTests
{
    const double Tolerance = 1e-5;

    public static TheoryData<string, ClassificationFunction> Fixtures => new()
    {
        { "bert-seqcls", ClassificationFunction.Softmax },
        { "bert-seqcls-multilabel", ClassificationFunction.Sigmoid },
        { "bert-seqcls-regression", ClassificationFunction.None },
        { "modernbert-seqcls", ClassificationFunction.Softmax },
    };

    /// <summary>The fixture's rows without their padding (right padding, as meta.json says).</summary>
    static List<TokenizedText> Rows(Fixture fixture)
    {
        using var scope = NewDisposeScope();
        long[] ids = fixture.InputIds.data<long>().ToArray(), mask = fixture.AttentionMask.data<long>().ToArray();
        long[]? types = fixture.TokenTypeIds?.data<long>().ToArray();
        int batch = (int)fixture.InputIds.shape[0], length = (int)fixture.InputIds.shape[1];
        return [.. Enumerable.Range(0, batch).Select(r =>
        {
            int real = (int)mask.Skip(r * length).Take(length).Sum();
            int[] Row(long[] all) => [.. all.Skip(r * length).Take(real).Select(v => (int)v)];
            return new TokenizedText(Row(ids), types is null ? null : Row(types));
        })];
    }

    /// <summary>The pipeline's scores per row, in label order, from the reference logits with plain math.</summary>
    static double[][] ExpectedScores(Fixture fixture, ClassificationFunction function)
    {
        using var scope = NewDisposeScope();
        Tensor logits = fixture.Expected("classifier_logits");
        int labels = (int)logits.shape[1];
        float[] flat = logits.data<float>().ToArray();
        return [.. flat.Chunk(labels).Select(row => function switch
        {
            ClassificationFunction.Softmax => row.Select(x => Math.Exp(x - row.Max()) / row.Sum(y => Math.Exp(y - row.Max()))).ToArray(),
            ClassificationFunction.Sigmoid => row.Select(x => 1 / (1 + Math.Exp(-x))).ToArray(),
            _ => row.Select(x => (double)x).ToArray(),
        })];
    }

    static void AssertScores(double[] expected, IReadOnlyList<LabelScore> got, IReadOnlyList<string> labels, string what)
    {
        Assert.Equal(labels.Count, got.Count);
        Assert.True(got.Zip(got.Skip(1)).All(p => p.First.Score >= p.Second.Score), $"{what}: not best first");
        foreach (LabelScore s in got)
        {
            double want = expected[labels.ToList().IndexOf(s.Label)];
            Assert.True(Math.Abs(want - s.Score) <= Tolerance, $"{what}: {s.Label} scored {s.Score}, reference {want}");
        }
    }

    [Theory, MemberData(nameof(Fixtures))]
    public async Task ScoresAreThePipelinesFunctionOfTheReferenceLogitsAndABatchGivesEachRowsOwn(string name, ClassificationFunction pipelineDefault)
    {
        using var fixture = new Fixture(name);
        using var model = EncoderModel.Load(fixture.Folder);
        var classifier = new TextClassifier(model);
        Assert.Equal(pipelineDefault, classifier.DefaultFunction);
        List<TokenizedText> rows = Rows(fixture);
        double[][] expected = ExpectedScores(fixture, pipelineDefault);

        var batch = await classifier.ClassifyAsync(rows, topK: null);
        Assert.Equal(rows.Count, batch.Length);
        for (int r = 0; r < rows.Count; r++)
        {
            AssertScores(expected[r], batch[r], classifier.Labels, $"{name} row {r} in the batch");
            var alone = (await classifier.ClassifyAsync([rows[r]], topK: null))[0];
            AssertScores(expected[r], alone, classifier.Labels, $"{name} row {r} alone");
            foreach (var (inBatch, single) in batch[r].Zip(alone))
                Assert.True(inBatch.Label == single.Label && Math.Abs(inBatch.Score - single.Score) <= Tolerance, $"{name} row {r}: batch {inBatch}, alone {single}");
        }
    }

    [Theory]
    [InlineData(ClassificationFunction.Softmax)]
    [InlineData(ClassificationFunction.Sigmoid)]
    [InlineData(ClassificationFunction.None)]
    public async Task EachFunctionCanBeAskedForAndTopKKeepsTheBest(ClassificationFunction function)
    {
        using var fixture = new Fixture("bert-seqcls-multilabel");
        using var model = EncoderModel.Load(fixture.Folder);
        var classifier = new TextClassifier(model);
        List<TokenizedText> rows = Rows(fixture);
        double[][] expected = ExpectedScores(fixture, function);
        var all = await classifier.ClassifyAsync(rows, topK: null, function);
        var top2 = await classifier.ClassifyAsync(rows, topK: 2, function);
        var top1 = await classifier.ClassifyAsync(rows, function: function);
        for (int r = 0; r < rows.Count; r++)
        {
            AssertScores(expected[r], all[r], classifier.Labels, $"row {r} {function}");
            Assert.Equal(all[r].Take(2), top2[r]);
            Assert.Equal(classifier.Labels[Array.IndexOf(expected[r], expected[r].Max())], Assert.Single(top1[r]).Label);
        }
    }

    [Fact]
    public void APairIsEncodedAsAPairWithItsSecondSegmentTyped()
    {
        using var folder = TempFolder.FromReference("bert-seqcls-regression", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var classifier = new TextClassifier(model);
        const string text = "A man is playing a guitar.", pair = "Someone plays an instrument.";
        var encoding = model.Tokenizer.Encode(text, pair);
        Assert.Contains(1, encoding.TypeIds!);
        // The regression head's raw score, computed here from the model's own logits for the pair encoding.
        using var scope = NewDisposeScope();
        using var outputs = model.Forward(tensor(encoding.Ids.Select(i => (long)i).ToArray(), [1, encoding.Length]), null,
            tensor(encoding.TypeIds!.Select(i => (long)i).ToArray(), [1, encoding.Length]));
        double want = outputs.ClassifierLogits!.item<float>();
        LabelScore got = Assert.Single(classifier.Classify(text, pair));
        Assert.Equal("score", got.Label);
        Assert.True(Math.Abs(want - got.Score) <= Tolerance, $"pair scored {got.Score}, logits give {want}");
        Assert.True(Math.Abs(want - classifier.Classify(text + " " + pair)[0].Score) > Tolerance, "the pair scored as one text");
    }

    [Fact]
    public void AModelWithoutAClassifierHeadIsATypedErrorNamingItsFolder()
    {
        using var model = EncoderModel.Load(ReferenceData.Model("bert"));
        var error = Assert.Throws<EncoderKitException>(() => new TextClassifier(model));
        Assert.Equal(ReferenceData.Model("bert"), error.File);
        Assert.Contains("classification head", error.Message);
    }

    [Fact]
    public async Task TheCliPrintsThePipelinesAnswerForTextsAndPairs()
    {
        using var folder = TempFolder.FromReference("bert-seqcls", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var classifier = new TextClassifier(model);
        string[] texts = ["I loved this film.", "The service was slow and the food cold."];

        var best = await CliRunner.RunAsync(["classify", "--model", folder.Path, "--json", texts[0]]);
        Assert.True(best.Exit == 0, best.Err);
        JsonElement single = JsonDocument.Parse(best.Out).RootElement;
        LabelScore want = classifier.Classify(texts[0])[0];
        Assert.Equal(want.Label, single.GetProperty("label").GetString());
        Assert.True(Math.Abs(want.Score - single.GetProperty("score").GetDouble()) <= Tolerance);

        string jsonl = string.Join("\n", texts.Select(t => JsonSerializer.Serialize(new { text = t, text_pair = "It was dinner." }))) + "\n";
        var piped = await CliRunner.RunAsync(["classify", "--model", folder.Path, "--json", "--jsonl", "--top-k", "3", "--function", "sigmoid"], jsonl);
        Assert.True(piped.Exit == 0, piped.Err);
        string[] lines = piped.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(texts.Length, lines.Length);
        for (int i = 0; i < texts.Length; i++)
        {
            var expected = classifier.Classify(texts[i], "It was dinner.", topK: 3, ClassificationFunction.Sigmoid);
            var printed = JsonDocument.Parse(lines[i]).RootElement.EnumerateArray().ToList();
            Assert.Equal(expected.Select(s => s.Label), printed.Select(p => p.GetProperty("label").GetString()));
            foreach (var (e, p) in expected.Zip(printed)) Assert.True(Math.Abs(e.Score - p.GetProperty("score").GetDouble()) <= Tolerance, lines[i]);
        }
        var pairArgument = await CliRunner.RunAsync(["classify", "--model", folder.Path, "--json", "--top-k", "3", "--function", "sigmoid", texts[0], "--pair", "It was dinner."]);
        Assert.True(pairArgument.Exit == 0, pairArgument.Err);
        // The same answer as the first piped line; within the tolerance, as that one ran padded in a batch of two.
        var fromArgument = JsonDocument.Parse(pairArgument.Out).RootElement.EnumerateArray().ToList();
        var fromPipe = JsonDocument.Parse(lines[0]).RootElement.EnumerateArray().ToList();
        Assert.Equal(fromPipe.Select(p => p.GetProperty("label").GetString()), fromArgument.Select(p => p.GetProperty("label").GetString()));
        foreach (var (a, p) in fromArgument.Zip(fromPipe))
            Assert.True(Math.Abs(a.GetProperty("score").GetDouble() - p.GetProperty("score").GetDouble()) <= Tolerance, pairArgument.Out);
    }

    [Fact]
    public async Task TheCliRefusesAModelWithoutAClassifierAndAnUnknownFunctionInOneLine()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        string line = (await CliRunner.RunAsync(["classify", "--model", folder.Path, "Hello."])).AssertOneLineError();
        Assert.Contains(folder.Path, line);
        line = (await CliRunner.RunAsync(["classify", "--model", folder.Path, "--function", "tanh", "Hello."])).AssertOneLineError();
        Assert.Contains("--function", line);
    }
}
