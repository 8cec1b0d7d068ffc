using EncoderKit.Inference;
using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// Multiple choice end to end on the reference multiple-choice checkpoints: the pipeline's scores are one softmax
/// (here, in double precision) over the choice_logits the model gives for the question's [1, C, L] input, built here
/// as BertForMultipleChoice takes it (every pair padded to the longest, with its mask and token types). Tolerance
/// 1e-5: the pipeline runs the pairs as rows of a length-sorted batch, which differs from the [1, C, L] run by float32
/// rounding only (~1e-7); a pair scored against the wrong question, or a softmax over the wrong group, fails it.
/// </summary>
public sealed class MultipleChoiceTests
{
    const double Tolerance = 1e-5;

    public static TheoryData<string, string> Fixtures => new() { { "bert-mc", "bert-base-cased" }, { "modernbert-mc", "modernbert-embed-base" } };

    [Theory, MemberData(nameof(Fixtures))]
    public async Task ScoresAreOneSoftmaxOverTheChoicesLogitsOfTheQuestionsInput(string fixture, string tokenizer)
    {
        using var folder = TempFolder.FromReference(fixture, tokenizer);
        using var model = EncoderModel.Load(folder.Path);
        ChoiceQuestion[] questions =
        [
            new("The cat sat on the", ["mat.", "moon, which is very far away from here.", "chair."]),
            new("Paris is the capital of", ["France.", "a country whose name I have forgotten."]),
        ];
        var got = await new MultipleChoice(model).ChooseAsync(questions);
        for (int q = 0; q < questions.Length; q++)
        {
            double[] expected = Softmax(ChoiceLogits(model, questions[q]));
            Assert.Equal(expected.Length, got[q].Scores.Count);
            for (int c = 0; c < expected.Length; c++)
                Assert.True(Math.Abs(expected[c] - got[q].Scores[c]) <= Tolerance, $"{fixture} question {q} choice {c}: {got[q].Scores[c]}, logits give {expected[c]}");
            Assert.Equal(Array.IndexOf(expected, expected.Max()), got[q].Label);
            Assert.Equal(1.0, got[q].Scores.Sum(), 1e-9);
        }
    }

    [Fact]
    public void OneChoiceOrNoHeadIsAClearError()
    {
        using var folder = TempFolder.FromReference("bert-mc", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var error = Assert.Throws<EncoderKitException>(() => new MultipleChoice(model).Choose("Pick one:", ["the only choice"]));
        Assert.Equal("choices", error.Field);
        Assert.Contains("two choices", error.Message);
        using var qa = EncoderModel.Load(ReferenceData.Model("bert-qa"));
        Assert.Contains("multiple-choice head", Assert.Throws<EncoderKitException>(() => new MultipleChoice(qa)).Message);
    }

    /// <summary>The model's choice_logits for the question as one [1, C, L] input.</summary>
    static float[] ChoiceLogits(EncoderModel model, ChoiceQuestion question)
    {
        using var scope = NewDisposeScope();
        Encoding[] pairs = [.. question.Choices.Select(c => model.Tokenizer.Encode(question.Question, c))];
        int length = pairs.Max(p => p.Length);
        long[] Padded(Func<Encoding, int[]> values, long pad) =>
            [.. pairs.SelectMany(p => values(p).Select(v => (long)v).Concat(Enumerable.Repeat(pad, length - p.Length)))];
        long[] shape = [1, pairs.Length, length];
        using var outputs = model.Forward(tensor(Padded(p => p.Ids, model.Tokenizer.PadTokenId ?? 0), shape), tensor(Padded(p => p.AttentionMask, 0), shape),
            tensor(Padded(p => p.TypeIds, 0), shape));
        Assert.Equal([1L, pairs.Length], outputs.ChoiceLogits!.shape);
        return outputs.ChoiceLogits!.to_type(ScalarType.Float32).data<float>().ToArray();
    }

    static double[] Softmax(float[] logits) => [.. logits.Select(x => Math.Exp(x - logits.Max()) / logits.Sum(y => Math.Exp(y - logits.Max())))];
}
