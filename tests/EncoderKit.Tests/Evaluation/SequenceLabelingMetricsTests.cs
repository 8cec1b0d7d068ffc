using EncoderKit.Evaluation;

namespace EncoderKit.Tests.Evaluation;

/// <summary>seqeval's default-mode chunking and micro scores, on sequences worked out by hand from conlleval's rules.</summary>
public sealed class SequenceLabelingMetricsTests
{
    static Entity E(string type, int start, int end) => new(type, start, end);

    [Fact]
    public void ChunksFollowConllevalRules()
    {
        // B-PER I-PER O B-LOC: two entities.
        Assert.Equal([E("PER", 0, 1), E("LOC", 3, 3)], SequenceLabelingMetrics.Entities(["B-PER", "I-PER", "O", "B-LOC"]));
        // An I- without a B- starts an entity (default mode, not strict IOB2).
        Assert.Equal([E("MISC", 1, 2)], SequenceLabelingMetrics.Entities(["O", "I-MISC", "I-MISC"]));
        // A type change inside I- tags ends one entity and starts another.
        Assert.Equal([E("PER", 0, 1), E("LOC", 2, 2)], SequenceLabelingMetrics.Entities(["B-PER", "I-PER", "I-LOC"]));
        // B- after B- of the same type: two entities; an entity at the very end is closed.
        Assert.Equal([E("ORG", 0, 0), E("ORG", 1, 2)], SequenceLabelingMetrics.Entities(["B-ORG", "B-ORG", "I-ORG"]));
        Assert.Empty(SequenceLabelingMetrics.Entities(["O", "O"]));
    }

    [Fact]
    public void MicroScoresCountWholeEntities()
    {
        // Truth: PER(0-1), LOC(3) | ORG(0). Predicted: PER(0-0) (wrong span), LOC(3) | ORG(0), MISC(1).
        // Correct: LOC, ORG = 2; predicted 4; true 3: P = 0.5, R = 2/3, F1 = 2·0.5·(2/3)/(0.5 + 2/3) = 4/7.
        string[][] truth = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]];
        string[][] predicted = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "B-MISC"]];
        EntityScores scores = SequenceLabelingMetrics.Score(truth, predicted);
        Assert.Equal(0.5, scores.Precision, 12);
        Assert.Equal(2.0 / 3, scores.Recall, 12);
        Assert.Equal(4.0 / 7, scores.F1, 12);
        Assert.Equal(4.0 / 6, scores.Accuracy, 12);   // tokens 1 and 5 differ
    }

    [Fact]
    public void NoEntitiesScoreZeroNotNaN()
    {
        EntityScores scores = SequenceLabelingMetrics.Score([["O", "O"]], [["O", "O"]]);
        Assert.Equal((0.0, 0.0, 0.0, 1.0), (scores.Precision, scores.Recall, scores.F1, scores.Accuracy));
        Assert.Throws<ArgumentException>(() => SequenceLabelingMetrics.Score([["O"]], [["O", "O"]]));
    }
}
