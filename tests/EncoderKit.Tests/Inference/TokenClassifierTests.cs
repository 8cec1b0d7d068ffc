using EncoderKit.Inference;
using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// The token-classification pipeline end to end on the reference token-classification checkpoints with their real
/// tokenizers: with no aggregation and nothing ignored, every non-special token comes back with the softmax of the
/// model's own token logits (the text run alone through <c>Forward</c>, softmax here in double precision), its label,
/// its token and its offsets into the text. Tolerance 1e-5: the pipeline runs the same weights, padded in a batch,
/// where the scores differ from the lone run by float32 rounding only (~1e-7); a wrong row, position or label fails it.
/// </summary>
public sealed class TokenClassifierTests
{
    const double Tolerance = 1e-5;
    static readonly string[] Texts = ["Hugging Face Inc. is based in New York City.", "Sarah lives in Paris.", "東京に住む山田さん。"];

    public static TheoryData<string, string> Fixtures => new() { { "bert-tokcls", "bert-base-cased" }, { "modernbert-tokcls", "modernbert-embed-base" } };

    [Theory, MemberData(nameof(Fixtures))]
    public async Task EveryTokenHasTheSoftmaxOfTheModelsLogitsAndItsOffsets(string fixture, string tokenizer)
    {
        using var folder = TempFolder.FromReference(fixture, tokenizer);
        using var model = EncoderModel.Load(folder.Path);
        var tagger = new TokenClassifier(model);
        var batch = await tagger.TagAsync(Texts, AggregationStrategy.None, ignoreLabels: []);
        for (int t = 0; t < Texts.Length; t++)
        {
            Encoding encoding = model.Tokenizer.Encode(Texts[t]);
            double[][] probabilities = Softmax(model, encoding);
            int[] real = [.. Enumerable.Range(0, encoding.Length).Where(i => encoding.SpecialTokensMask[i] == 0)];
            Assert.Equal(real, batch[t].Select(e => e.Index!.Value));
            foreach (TokenEntity entity in batch[t])
            {
                int i = entity.Index!.Value;
                double[] p = probabilities[i];
                int best = Array.IndexOf(p, p.Max());
                Assert.Equal(tagger.Labels[best], entity.Entity);
                Assert.True(Math.Abs(p[best] - entity.Score) <= Tolerance, $"{fixture} text {t} token {i}: {entity.Score}, logits give {p[best]}");
                Assert.Equal(encoding.Offsets[i], (entity.Start, entity.End));
                Assert.Equal(encoding.Ids[i] == model.Tokenizer.UnkTokenId ? Texts[t][entity.Start..entity.End] : encoding.Tokens[i], entity.Word);
            }
        }
        // Ignoring the label of some token's best leaves it out, and only such tokens.
        string ignored = batch[0][0].Entity;
        var without = tagger.Tag(Texts[0], ignoreLabels: [ignored]);
        Assert.Equal(batch[0].Where(e => e.Entity != ignored).Select(e => e.Index), without.Select(e => e.Index));
    }

    [Fact]
    public void ALongTextIsAnErrorWithoutAStrideAndReadInWindowsWithOne()
    {
        using var folder = TempFolder.FromReference("bert-tokcls", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var tagger = new TokenClassifier(model);
        string text = string.Join(" ", Enumerable.Range(0, 700).Select(i => $"word{i % 10}")) + " Paris";
        Assert.True(model.Tokenizer.Encode(text).Length > model.MaxInputTokens, "the text must be longer than the model takes");

        var error = Assert.Throws<EncoderKitException>(() => tagger.Tag(text, AggregationStrategy.Simple));
        Assert.Contains("stride", error.Message);
        Assert.Contains("aggregation", Assert.Throws<EncoderKitException>(() => tagger.Tag(text, AggregationStrategy.None, stride: 64)).Message);
        Assert.Contains("aggregation", Assert.Throws<EncoderKitException>(() => tagger.Tag("Paris", AggregationStrategy.None, stride: 64)).Message);   // as the pipeline: whatever the length

        // Nothing ignored: the groups cover the text from its first token to its last, in order, without overlaps.
        var groups = tagger.Tag(text, AggregationStrategy.Simple, ignoreLabels: [], stride: 64);
        Assert.Equal(0, groups[0].Start);
        Assert.Equal(text.Length, groups[^1].End);
        Assert.True(groups.Zip(groups.Skip(1)).All(p => p.First.End <= p.Second.Start), "groups overlap or are out of order");
    }

    [Fact]
    public async Task APipelineLoadsItsOwnModelByFolderAndRefusesOneWithoutItsHead()
    {
        using var folder = TempFolder.FromReference("bert-tokcls", "bert-base-cased");
        using (var tagger = await TokenClassifier.LoadAsync(folder.Path))
            Assert.Equal(Texts[1].Length, tagger.Tag(Texts[1], AggregationStrategy.Simple, ignoreLabels: [])[^1].End);
        var error = await Assert.ThrowsAsync<EncoderKitException>(() => QuestionAnswerer.LoadAsync(folder.Path));
        Assert.Contains("question-answering head", error.Message);
        Assert.Equal(folder.Path, error.File);
    }

    [Fact]
    public void AModelWithoutATokenClassifierNamesTheMissingHead()
    {
        using var model = EncoderModel.Load(ReferenceData.Model("bert-qa"));
        var error = Assert.Throws<EncoderKitException>(() => new TokenClassifier(model));
        Assert.Contains("token-classification head", error.Message);
        Assert.Equal(ReferenceData.Model("bert-qa"), error.File);
    }

    /// <summary>Per position, the softmax of the model's token logits for the encoding run alone.</summary>
    static double[][] Softmax(EncoderModel model, Encoding encoding)
    {
        using var scope = NewDisposeScope();
        using var outputs = model.Forward(tensor(encoding.Ids.Select(i => (long)i).ToArray(), [1, encoding.Length]));
        Tensor logits = outputs.TokenLogits!.to_type(ScalarType.Float32)[0];
        int labels = (int)logits.shape[1];
        return [.. logits.data<float>().ToArray().Chunk(labels).Select(row => row.Select(x => Math.Exp(x - row.Max()) / row.Sum(y => Math.Exp(y - row.Max()))).ToArray())];
    }
}
