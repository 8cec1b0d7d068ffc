using EncoderKit.Evaluation;
using EncoderKit.FineTuning;

namespace EncoderKit.Tests.Evaluation;

/// <summary>The SQuAD v1.1 script's normalisation and scores, and run_qa's best-span choice, on hand-worked cases.</summary>
public sealed class SquadMetricsTests
{
    [Fact]
    public void NormalisationDropsCasePunctuationArticlesAndSpaces()
    {
        Assert.Equal("eiffel tower", SquadMetrics.Normalize("The  Eiffel Tower!"));
        Assert.Equal("anthem", SquadMetrics.Normalize("an anthem."));
        Assert.Equal("theory", SquadMetrics.Normalize("theory"));   // "the" inside a word stays
        Assert.True(SquadMetrics.ExactMatch("the Eiffel tower", "Eiffel Tower."));
    }

    [Fact]
    public void F1CountsSharedTokens()
    {
        // "in paris france" vs "paris": same 1, P = 1/3, R = 1, F1 = 0.5.
        Assert.Equal(0.5, SquadMetrics.F1("in Paris, France", "Paris"), 12);
        Assert.Equal(0.0, SquadMetrics.F1("London", "Paris"));
        // Best over the gold answers, in percent: example 1 exact (100/100), example 2 F1 0.5 against "paris".
        SquadScores scores = SquadMetrics.Score(["Denver Broncos", "in Paris, France"], [["Denver Broncos", "Broncos"], ["Lyon", "Paris"]]);
        Assert.Equal(50.0, scores.ExactMatch, 12);
        Assert.Equal(75.0, scores.F1, 12);
    }

    [Fact]
    public void BestSpanIsTheHighestStartPlusEndInsideTheContext()
    {
        const string context = "red blue green";
        (int, int)?[] offsets = [null, (0, 3), (4, 8), (9, 14), null];   // [CLS] red blue green [SEP]
        // The CLS token has the highest logits but is not context; end before start is skipped: blue..green wins (2 + 3).
        float[] start = [9, 0, 2, 0, 0], end = [9, 0, 1, 3, 0];
        Assert.Equal("blue green", TaskEvaluation.BestAnswer(context, [(offsets, start, end)]));
        // Over two windows, the better window's span wins.
        float[] start2 = [0, 8, 0, 0, 0], end2 = [0, 8, 0, 0, 0];
        Assert.Equal("red", TaskEvaluation.BestAnswer(context, [(offsets, start, end), (offsets, start2, end2)]));
    }
}
