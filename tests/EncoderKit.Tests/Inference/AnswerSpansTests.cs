using EncoderKit.Inference;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// The question-answering pipeline's span choice over hand-made logits, against probabilities worked out here from
/// the pipeline's rules (transformers' select_starts_ends / decode_spans / get_indices): softmax over the positions
/// that may hold an answer (context tokens and [CLS]), [CLS] then zeroed, spans scored start × end. Tolerance 1e-12:
/// the same few exponentials in double precision.
/// </summary>
public sealed class AnswerSpansTests
{
    static readonly Tokenizer Bert = Tokenizer.FromFolder(ReferenceData.Tokenizer("bert-base-cased"));

    // [CLS] q q [SEP] c c c [SEP]: answers may start and end at [CLS] and the three context tokens.
    static readonly bool[] Allowed = [true, false, false, false, true, true, true, false];

    /// <summary>exp(logit) / Σ exp over the allowed positions.</summary>
    static double P(float[] logits, int at) => Math.Exp(logits[at]) / Allowed.Select((a, i) => a ? Math.Exp(logits[i]) : 0).Sum();

    [Fact]
    public void TheBestSpanIsTheLargestStartTimesEndOverContextTokensOnly()
    {
        float[] start = [0, 10, 9, 0, 2, 1, 0, 12], end = [0, 11, 0, 0, 0, 3, 1, 12];   // question and [SEP] logits are the largest: masked out
        List<TokenSpan> spans = AnswerSpans.Best(start, end, Allowed, topK: 3, maxAnswerLength: 15, out double noAnswer);
        // Candidates (s ≤ e) over positions 4..6: (4,5) = P4·P5 is the best, then (5,5), then (4,6).
        (int, int)[] expected = [(4, 5), (5, 5), (4, 6)];
        Assert.Equal(expected, spans.Select(s => (s.Start, s.End)));
        foreach (TokenSpan s in spans) Assert.Equal(P(start, s.Start) * P(end, s.End), s.Score, 1e-12);
        Assert.Equal(P(start, 0) * P(end, 0), noAnswer, 1e-12);
    }

    [Fact]
    public void MaxAnswerLengthKeepsLongerSpansOut()
    {
        float[] start = [0, 0, 0, 0, 4, 0, 0, 0], end = [0, 0, 0, 0, 0, 2, 4, 0];   // the best span by far is (4, 6): three tokens
        Assert.Equal((4, 6), AnswerSpans.Best(start, end, Allowed, 1, maxAnswerLength: 3, out _).Select(s => (s.Start, s.End)).Single());
        TokenSpan two = AnswerSpans.Best(start, end, Allowed, 1, maxAnswerLength: 2, out _).Single();
        // At most two tokens: (4,5) scores e⁴·e², more than (4,4), (5,6) or (6,6) at e⁴ each.
        Assert.Equal((4, 5), (two.Start, two.End));
        Assert.Equal(P(start, 4) * P(end, 5), two.Score, 1e-12);
    }

    [Fact]
    public void TheImpossibleAnswerIsScoredByClsAndJoinsTheRanking()
    {
        Encoding window = Bert.Encode("Who?", "Nobody knows.");
        Assert.Equal(["[CLS]", "Who", "?", "[SEP]", "Nobody", "knows", ".", "[SEP]"], window.Tokens);
        float[] start = [6, 0, 0, 0, 1, 0, 0, 0], end = [6, 0, 0, 0, 0, 1, 0, 0];
        var options = new AnswerOptions(TopK: 2, HandleImpossibleAnswer: true);
        List<Answer> answers = AnswerSpans.FromWindows("Nobody knows.", [window], [(start, end)], Bert.ClsTokenId, options);
        Assert.Equal(new Answer(Math.Round(P(start, 0) * P(end, 0), 12), 0, 0, ""), answers[0] with { Score = Math.Round(answers[0].Score, 12) });
        Assert.Equal(("Nobody knows", 0, 12), (answers[1].Text, answers[1].Start, answers[1].End));
        Assert.Equal(P(start, 4) * P(end, 5), answers[1].Score, 1e-12);
        Assert.Single(AnswerSpans.FromWindows("Nobody knows.", [window], [(start, end)], Bert.ClsTokenId, options with { HandleImpossibleAnswer = false, TopK = 1 }),
            a => a.Text == "Nobody knows");
    }

    [Fact]
    public void AnAnswerCutByAWindowsEndIsFoundWholeInTheNextWindow()
    {
        // 5 tokens of question and specials leave 15 context tokens per window of 20; windows step by 15 - 5 = 10 tokens.
        string context = string.Concat(Enumerable.Repeat("the ", 14)) + "New York is big.";
        Encoding first = Bert.Encode("Where?", context, new EncodeOptions { MaxLength = 20, Stride = 5, Truncation = TruncationStrategy.OnlySecond });
        Encoding[] windows = [first, .. first.Overflowing];
        Assert.Equal(2, windows.Length);
        Assert.Equal("New", windows[0].Tokens[^2]);                      // the last context token of the first window
        Assert.DoesNotContain("York", windows[0].Tokens);
        int newAt = Array.IndexOf(windows[1].Tokens, "New"), yorkAt = Array.IndexOf(windows[1].Tokens, "York");
        Assert.Equal(newAt + 1, yorkAt);

        // Window 0 can only offer "New"; window 1 offers "New York" with surer logits.
        float[] Logits(Encoding w, int at, float value) => [.. Enumerable.Range(0, w.Length).Select(i => i == at ? value : 0f)];
        (float[], float[])[] logits = [(Logits(windows[0], windows[0].Length - 2, 6), Logits(windows[0], windows[0].Length - 2, 6)), (Logits(windows[1], newAt, 8), Logits(windows[1], yorkAt, 8))];
        List<Answer> answers = AnswerSpans.FromWindows(context, windows, logits, Bert.ClsTokenId, new AnswerOptions(TopK: 2));
        int at = context.IndexOf("New York", StringComparison.Ordinal);
        Assert.Equal(("New York", at, at + 8), (answers[0].Text, answers[0].Start, answers[0].End));
        Assert.Equal(("New", at, at + 3), (answers[1].Text, answers[1].Start, answers[1].End));
        double Expected(Encoding w, float[] s, float[] e, int i, int j)
        {
            bool[] allowed = [.. Enumerable.Range(0, w.Length).Select(k => w.SequenceIds[k] == 1 || k == 0)];
            double Z(float[] l) => allowed.Select((a, k) => a ? Math.Exp(l[k]) : 0).Sum();
            return Math.Exp(s[i]) / Z(s) * (Math.Exp(e[j]) / Z(e));
        }
        Assert.Equal(Expected(windows[1], logits[1].Item1, logits[1].Item2, newAt, yorkAt), answers[0].Score, 1e-12);
        Assert.Equal(Expected(windows[0], logits[0].Item1, logits[0].Item2, windows[0].Length - 2, windows[0].Length - 2), answers[1].Score, 1e-12);
        // With ten spans per window, window 1 offers "New" too: after its best, eight spans tie (each "the" to York, then
        // New to New, is, big and "."), and New–New is the fifth of them. The two are one answer with the scores summed.
        Answer merged = Assert.Single(AnswerSpans.FromWindows(context, windows, logits, Bert.ClsTokenId, new AnswerOptions(TopK: 10)), a => a.Text == "New");
        Assert.Equal(answers[1].Score + Expected(windows[1], logits[1].Item1, logits[1].Item2, newAt, newAt), merged.Score, 1e-12);
    }

    [Fact]
    public void AlignToWordsWidensToWholeWordsAndJapaneseOffsetsSliceTheOriginal()
    {
        // "Hugging" is Hu ##gging: a span on ##gging alone still answers the whole word, unless told not to align.
        Encoding window = Bert.Encode("Who?", "Hugging Face");
        Assert.Equal(["[CLS]", "Who", "?", "[SEP]", "Hu", "##gging", "Face", "[SEP]"], window.Tokens);
        var span = new TokenSpan(5, 5, 1);
        Assert.Equal((0, 7), AnswerSpans.Characters(span, window.WordIds, window.SequenceIds, window.Offsets));
        Assert.Equal((2, 7), AnswerSpans.Characters(span, window.WordIds, window.SequenceIds, window.Offsets, alignToWords: false));

        const string context = "株式会社は東京都にある。";
        Encoding japanese = Bert.Encode("どこ？", context);
        int tokyo = context.IndexOf("東京", StringComparison.Ordinal);
        int s = Enumerable.Range(0, japanese.Length).First(i => japanese.SequenceIds[i] == 1 && japanese.Offsets[i].Start == tokyo);
        int e = Enumerable.Range(0, japanese.Length).First(i => japanese.SequenceIds[i] == 1 && japanese.Offsets[i].End == tokyo + 2);
        var (from, to) = AnswerSpans.Characters(new TokenSpan(s, e, 1), japanese.WordIds, japanese.SequenceIds, japanese.Offsets);
        Assert.Equal("東京", context[from..to]);
    }
}
