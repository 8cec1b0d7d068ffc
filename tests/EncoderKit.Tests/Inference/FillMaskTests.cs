using System.Text.Json;
using EncoderKit.Inference;
using EncoderKit.Runtime;
using EncoderKit.Tests.Cli;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// Fill-mask against the Hugging Face pipeline's top-5 (fillmask_expected.json: the bert fixture's weights with
/// the real cased vocabulary). Scores within 1e-4: they are softmax probabilities of logits that themselves
/// match the reference within 1e-4, and the test texts' top scores are separated by far more than that.
/// </summary>
public sealed class FillMaskTests
{
    const double ScoreTolerance = 1e-4;

    static IEnumerable<(string Text, List<(int Token, string TokenStr, double Score)> Top5)> Expected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceData.Model("bert"), "fillmask_expected.json")));
        foreach (JsonElement item in doc.RootElement.EnumerateArray())
            yield return (item.GetProperty("text").GetString()!,
                item.GetProperty("top5").EnumerateArray().Select(c => (c.GetProperty("token").GetInt32(), c.GetProperty("token_str").GetString()!, c.GetProperty("score").GetDouble())).ToList());
    }

    [Fact]
    public void TopFiveMatchesThePipelineForEveryReferenceText()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var fillMask = new FillMask(model);
        int texts = 0;
        foreach (var (text, top5) in Expected())
        {
            var predictions = fillMask.Predict(text, topK: 5);
            Assert.Single(predictions);
            Assert.Equal(top5.Select(c => c.Token), predictions[0].Select(c => c.Token));
            Assert.Equal(top5.Select(c => c.TokenStr), predictions[0].Select(c => c.TokenStr));
            foreach (var (want, got) in top5.Zip(predictions[0]))
                Assert.True(Math.Abs(want.Score - got.Score) <= ScoreTolerance, $"{text}: {got.TokenStr} scored {got.Score}, pipeline {want.Score}");
            texts++;
        }
        Assert.Equal(4, texts);
    }

    [Fact]
    public void SeveralMasksGiveOneListEachAndKeepTheOtherMasksInTheSequence()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var predictions = new FillMask(model).Predict("The [MASK] sat on the [MASK].", topK: 3);
        Assert.Equal(2, predictions.Count);
        Assert.All(predictions, p => Assert.Equal(3, p.Count));
        // As the pipeline: with several masks special tokens stay in the sequence, so the unfilled mask shows.
        Assert.All(predictions[0], c => Assert.Contains("[MASK]", c.Sequence));
        Assert.All(predictions[0], c => Assert.StartsWith("[CLS]", c.Sequence));
        // Each list's scores are probabilities in descending order.
        Assert.All(predictions, p => Assert.True(p.Zip(p.Skip(1)).All(pair => pair.First.Score >= pair.Second.Score) && p.All(c => c.Score is > 0 and <= 1)));
    }

    [Fact]
    public async Task FillMaskRunsOnAGivenRunnerAndHonoursCancellationAndDisposal()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var runner = new BatchRunner();
        var fillMask = new FillMask(model, runner: runner);
        var (text, top5) = Expected().First();
        var predictions = await fillMask.PredictAsync(text, topK: 5);
        Assert.Equal(top5.Select(c => c.Token), predictions[0].Select(c => c.Token));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fillMask.PredictAsync(text, cancellationToken: cancelled.Token));
        runner.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => fillMask.PredictAsync(text));
    }

    [Fact]
    public void TextWithoutMaskIsATypedError()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var e = Assert.Throws<EncoderKitException>(() => new FillMask(model).Predict("No mask here."));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
        Assert.Contains("[MASK]", e.Message);
    }

    [Fact]
    public async Task CliJsonPrintsThePipelineTopFive()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        var (text, top5) = Expected().First();
        var result = await CliRunner.RunAsync(["fill-mask", "--model", folder.Path, text, "--json"]);
        Assert.True(result.Exit == 0, result.Err);
        Assert.Equal("", result.Err);
        var rows = JsonDocument.Parse(result.Out).RootElement.EnumerateArray().ToList();
        Assert.Equal(top5.Select(c => c.Token), rows.Select(r => r.GetProperty("token").GetInt32()));
        foreach (var (want, row) in top5.Zip(rows))
        {
            Assert.True(Math.Abs(want.Score - row.GetProperty("score").GetDouble()) <= ScoreTolerance);
            Assert.Equal(want.TokenStr, row.GetProperty("token_str").GetString());
            Assert.Contains(want.TokenStr.TrimStart('#'), row.GetProperty("sequence").GetString());
        }
    }

    [Fact]
    public async Task OverlongTextIsTruncatedWithAWarningOrRefusedWithNoTruncate()
    {
        using var folder = TempFolder.FromReference("bert", "bert-base-cased");
        string text = "The [MASK] " + string.Join(' ', Enumerable.Repeat("word", 700));

        var truncated = await CliRunner.RunAsync(["fill-mask", "--model", folder.Path, text]);
        Assert.True(truncated.Exit == 0, truncated.Err);
        Assert.Contains("warning", truncated.Err);
        Assert.Contains("512", truncated.Err);
        Assert.Equal(5, truncated.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        var refused = await CliRunner.RunAsync(["fill-mask", "--model", folder.Path, text, "--no-truncate"]);
        string line = refused.AssertOneLineError();
        Assert.Contains("512", line);
    }

    [Theory]
    [InlineData("nomic_bert", "nomic-bert-2048")]
    [InlineData("modernbert", "modernbert-embed-base")]
    [InlineData("llama_enc", "tohokunlp-bert-500m-sq4096-alpha")]
    [InlineData("retrieva_bert", "retrieva-bert-1.3b")]
    public void EveryFamilyFillsMasksFromItsOwnLogits(string fixture, string tokenizer)
    {
        using var folder = TempFolder.FromReference(fixture, tokenizer);
        using var model = EncoderModel.Load(folder.Path);
        string text = $"Paris is the {model.Tokenizer.MaskToken} of France.";
        var predictions = new FillMask(model).Predict(text, topK: 3);
        Assert.Single(predictions);

        // Independently: softmax of the MLM logits at the mask position, from a plain forward pass.
        var encoding = model.Tokenizer.Encode(text);
        int position = Array.IndexOf(encoding.Ids, model.Tokenizer.MaskTokenId!.Value);
        using var ids = TorchSharp.torch.tensor(encoding.Ids.Select(i => (long)i).ToArray(), [1, encoding.Length]);
        using var outputs = model.Forward(ids);
        using var probabilities = outputs.MlmLogits![0][position].softmax(-1);
        var (values, indices) = probabilities.topk(3);
        Assert.Equal(indices.data<long>().ToArray().Select(i => (int)i), predictions[0].Select(c => c.Token));
        Assert.Equal(values.data<float>().ToArray().Select(v => (double)v), predictions[0].Select(c => c.Score), (a, b) => Math.Abs(a - b) < 1e-6);
    }
}
