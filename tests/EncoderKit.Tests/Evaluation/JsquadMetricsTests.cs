using EncoderKit.Evaluation;

namespace EncoderKit.Tests.Evaluation;

/// <summary>
/// JSQuAD's exact match and character F1 as JGLUE's patch of transformers' squad_metrics computes them, on hand-worked
/// Japanese cases: lower-casing, trailing "。" stripped before whitespace is collapsed, punctuation and articles kept,
/// characters as code points, spaces counted as characters.
/// </summary>
public sealed class JsquadMetricsTests
{
    [Fact]
    public void NormalisationLowersStripsTrailingKutenAndCollapsesWhitespaceOnly()
    {
        Assert.Equal("東京タワー", JsquadMetrics.Normalize("東京タワー。"));
        Assert.Equal("東京タワー", JsquadMetrics.Normalize("東京タワー。。"));         // rstrip takes every trailing 。
        Assert.Equal("東京。タワー", JsquadMetrics.Normalize("東京。タワー"));         // not one inside
        Assert.Equal("東京タワー。", JsquadMetrics.Normalize("東京タワー。 "));       // the space shields it: strip first, whitespace after
        Assert.Equal("東京 タワー", JsquadMetrics.Normalize("\u3000東京\u3000 タワー\t"));   // the ideographic space is whitespace
        Assert.Equal("「東京」、", JsquadMetrics.Normalize("「東京」、"));            // punctuation stays (the patch turns its removal off)
        Assert.Equal("the tower!", JsquadMetrics.Normalize("The  Tower!"));          // and so do articles and ASCII punctuation
        Assert.Equal("ｎｈｋ", JsquadMetrics.Normalize("ＮＨＫ"));                    // full-width letters are lowered too
        Assert.Equal("東京.", JsquadMetrics.Normalize("東京."));                       // only the ideographic full stop is stripped
    }

    [Fact]
    public void ExactMatchComparesNormalisedAnswers()
    {
        Assert.True(JsquadMetrics.ExactMatch("東京。", "東京"));
        Assert.True(JsquadMetrics.ExactMatch("ＮＨＫ", "ｎｈｋ"));
        Assert.False(JsquadMetrics.ExactMatch("「東京」", "東京"));
        Assert.False(JsquadMetrics.ExactMatch("285 km/h", "285km/h"));
    }

    [Fact]
    public void F1CountsSharedCharacters()
    {
        // 東京タワー (5) against 東京スカイツリー (8): 東, 京, ー shared. P 3/5, R 3/8: F1 = 2·(9/40)/(39/40) = 6/13.
        Assert.Equal(6.0 / 13, JsquadMetrics.F1("東京タワー", "東京スカイツリー"), 12);
        // The space is a character: "285 km/h" (8) holds all 7 of "285km/h". P 7/8, R 1: F1 = 14/15.
        Assert.Equal(14.0 / 15, JsquadMetrics.F1("285 km/h", "285km/h"), 12);
        // Each character counts as often as both hold it: ははは against は, P 1/3, R 1: F1 = 1/2.
        Assert.Equal(0.5, JsquadMetrics.F1("ははは", "は"), 12);
        // 𠮷 (U+20BB7) is one character, as Python counts: 𠮷野家 against 吉野家 share 2 of 3 each, F1 2/3
        // (as UTF-16 units it would be 2 of 4 against 2 of 3: 4/7).
        Assert.Equal(2.0 / 3, JsquadMetrics.F1("𠮷野家", "吉野家"), 12);
        Assert.Equal(1.0, JsquadMetrics.F1("東京。", "東京"));
        Assert.Equal(0.0, JsquadMetrics.F1("大阪", "東京"));
        // Empty after normalisation: 1 when both are, 0 when one is.
        Assert.Equal(1.0, JsquadMetrics.F1("。", ""));
        Assert.Equal(0.0, JsquadMetrics.F1("", "東京"));
        Assert.Equal(0.0, JsquadMetrics.F1("東京", "。"));
    }

    [Fact]
    public void ScoreTakesTheBestGoldAnswerAndDropsGoldsThatNormaliseToNothing()
    {
        // Question 1: exact against its second answer (東京タワー。 → 東京タワー); question 2: F1 14/15, not exact.
        SquadScores scores = JsquadMetrics.Score(["東京タワー", "285 km/h"], [["東京スカイツリー", "東京タワー。"], ["285km/h"]]);
        Assert.Equal(50.0, scores.ExactMatch, 12);
        Assert.Equal(100 * (1 + 14.0 / 15) / 2, scores.F1, 12);
        // A gold of only "。" is left out, so an empty prediction does not match it ...
        scores = JsquadMetrics.Score([""], [["。", "東京"]]);
        Assert.Equal(0.0, scores.ExactMatch);
        Assert.Equal(0.0, scores.F1);
        // ... but with no gold left the question is scored against "", which the empty prediction matches.
        scores = JsquadMetrics.Score(["", "東京"], [["。"], []]);
        Assert.Equal(50.0, scores.ExactMatch, 12);
        Assert.Equal(50.0, scores.F1, 12);
    }
}
