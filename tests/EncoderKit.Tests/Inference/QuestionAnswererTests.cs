using EncoderKit.Inference;
using EncoderKit.Tokenization;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// The question-answering pipeline end to end on the reference QA checkpoints with their real tokenizers. The span
/// choice itself is tested over hand-made logits (<see cref="AnswerSpansTests"/>); here the pipeline's windows,
/// batching and padding must give what the model's own logits give: each window encoded here and run alone through
/// <c>Forward</c>, then the spans chosen from those logits. Tolerance 1e-5 on scores (products of two probabilities;
/// padded-batch vs lone runs differ by float32 rounding, ~1e-7); spans must be identical.
/// </summary>
public sealed class QuestionAnswererTests
{
    const double Tolerance = 1e-5;

    public static TheoryData<string, string, string, string> Fixtures => new()
    {
        { "bert-qa", "bert-base-cased", "Where does Sarah live?", "Sarah is a teacher. " + string.Concat(Enumerable.Repeat("She has lived in many towns over the years. ", 8)) + "Today she lives in Paris with her cat." },
        { "modernbert-qa", "modernbert-embed-base", "Where does Sarah live?", "Sarah is a teacher. " + string.Concat(Enumerable.Repeat("She has lived in many towns over the years. ", 8)) + "Today she lives in Paris with her cat." },
        { "retrieva_bert-qa", "retrieva-bert-1.3b", "山田さんはどこに住んでいますか？", string.Concat(Enumerable.Repeat("山田さんは昔、いろいろな町に住んでいました。", 6)) + "今は東京都に住んでいます。" },
    };

    [Theory, MemberData(nameof(Fixtures))]
    public async Task AnswersAreTheBestSpansOfTheModelsOwnLogitsOverEveryWindow(string fixture, string tokenizer, string question, string context)
    {
        using var folder = TempFolder.FromReference(fixture, tokenizer);
        using var model = EncoderModel.Load(folder.Path);
        var options = new AnswerOptions(TopK: 4, MaxAnswerLength: 6, MaxSequenceLength: 48, DocStride: 12, HandleImpossibleAnswer: true, AlignToWords: fixture != "retrieva_bert-qa");
        Encoding first = model.Tokenizer.Encode(question, context, new EncodeOptions { MaxLength = 48, Stride = 12, Truncation = TruncationStrategy.OnlySecond });
        Encoding[] windows = [first, .. first.Overflowing];
        Assert.True(windows.Length >= 3, $"{fixture}: {windows.Length} windows; the context must need several");
        List<Answer> expected = AnswerSpans.FromWindows(context, windows, [.. windows.Select(w => Logits(model, w))], model.Tokenizer.ClsTokenId, options);

        var answerer = new QuestionAnswerer(model);
        // Twice in one request, beside a short question, so windows of different lengths share padded batches.
        var got = await answerer.AnswerAsync([new(question, context), new("Who?", "Sarah."), new(question, context)], options);
        foreach (var answers in new[] { got[0], got[2] })
        {
            Assert.Equal(expected.Select(a => (a.Start, a.End, a.Text)), answers.Select(a => (a.Start, a.End, a.Text)));
            foreach (var (e, a) in expected.Zip(answers)) Assert.True(Math.Abs(e.Score - a.Score) <= Tolerance, $"{fixture}: {a.Score}, logits give {e.Score}");
            foreach (Answer a in answers) Assert.Equal(a.Text, context[a.Start..a.End]);
        }
    }

    [Fact]
    public void BadQuestionsAreClearErrors()
    {
        using var folder = TempFolder.FromReference("bert-qa", "bert-base-cased");
        using var model = EncoderModel.Load(folder.Path);
        var answerer = new QuestionAnswerer(model);
        Assert.Equal("question", Assert.Throws<EncoderKitException>(() => answerer.Answer(" ", "Sarah lives in Paris.")).Field);
        Assert.Equal("context", Assert.Throws<EncoderKitException>(() => answerer.Answer("Where?", "")).Field);
        Assert.Equal("top_k", Assert.Throws<EncoderKitException>(() => answerer.Answer("Where?", "Paris.", new AnswerOptions(TopK: 0))).Field);
        Assert.Equal("max_answer_len", Assert.Throws<EncoderKitException>(() => answerer.Answer("Where?", "Paris.", new AnswerOptions(MaxAnswerLength: 0))).Field);
        Assert.Equal("max_seq_len", Assert.Throws<EncoderKitException>(() => answerer.Answer("Where?", "Paris.", new AnswerOptions(MaxSequenceLength: 4096))).Field);

        using var tagger = EncoderModel.Load(ReferenceData.Model("bert-tokcls"));
        Assert.Contains("question-answering head", Assert.Throws<EncoderKitException>(() => new QuestionAnswerer(tagger)).Message);
    }

    /// <summary>The window run alone: its start and end logits.</summary>
    static (float[] Start, float[] End) Logits(EncoderModel model, Encoding window)
    {
        using var scope = NewDisposeScope();
        Tensor Row(int[] values) => tensor(values.Select(v => (long)v).ToArray(), [1, values.Length]);
        using var outputs = model.Forward(Row(window.Ids), null, Row(window.TypeIds));
        return (outputs.StartLogits!.to_type(ScalarType.Float32).data<float>().ToArray(), outputs.EndLogits!.to_type(ScalarType.Float32).data<float>().ToArray());
    }
}
