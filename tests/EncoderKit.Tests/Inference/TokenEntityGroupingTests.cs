using EncoderKit.Inference;
using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Inference;

/// <summary>
/// The token-classification pipeline's post-processing over scored tokens with known offsets, against answers worked
/// out by hand from transformers' rules (TokenClassificationPipeline.aggregate / group_entities /
/// aggregate_overlapping_entities). Scores are exact sums and means of the given probabilities: tolerance 1e-12.
/// </summary>
public sealed class TokenEntityGroupingTests
{
    static readonly string[] Labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
    static readonly Tokenizer Bert = Tokenizer.FromFolder(ReferenceData.Tokenizer("bert-base-cased"));

    /// <summary>Probability <paramref name="p"/> on <paramref name="label"/>, the rest shared equally by the others.</summary>
    static double[] Peaked(string label, double p) =>
        [.. Labels.Select(l => l == label ? p : (1 - p) / (Labels.Length - 1))];

    // "Enzo lives in New York": the WordPiece tokens with their offsets, as bert-base-cased gives them (checked below).
    const string Text = "Enzo lives in New York";
    static List<ScoredToken> Tokens(params (string Label, double P)[] scores)
    {
        (string Word, int Start, int End, bool Subword)[] tokens = [("En", 0, 2, false), ("##zo", 2, 4, true), ("lives", 5, 10, false), ("in", 11, 13, false), ("New", 14, 17, false), ("York", 18, 22, false)];
        return [.. tokens.Select((t, i) => new ScoredToken(i + 1, t.Word, Peaked(scores[i].Label, scores[i].P), t.Start, t.End, t.Subword))];
    }

    [Fact]
    public void TheTokensAreBertBaseCasedsAndItsWordAwareTest()
    {
        Encoding e = Bert.Encode(Text);
        Assert.Equal(["[CLS]", "En", "##zo", "lives", "in", "New", "York", "[SEP]"], e.Tokens);
        Assert.Equal("##", Bert.ContinuingSubwordPrefix);
        foreach (ScoredToken t in Tokens([.. Enumerable.Repeat(("O", 0.9), 6)]))
        {
            Assert.Equal((t.Start, t.End), e.Offsets[t.Index]);
            Assert.Equal(t.IsSubword, TokenEntityGrouping.IsSubword(Text, e.Tokens[t.Index], t.Start, t.End, wordAware: true));
        }
    }

    [Fact]
    public void NoneGivesEveryTokenItsBestLabelAndSimpleGroupsAdjacentOnesOfAType()
    {
        var tokens = Tokens(("B-PER", 0.9), ("I-PER", 0.8), ("O", 0.99), ("O", 0.95), ("B-LOC", 0.7), ("I-LOC", 0.6));

        var none = TokenEntityGrouping.WithoutIgnored(TokenEntityGrouping.Aggregate(tokens, Labels, AggregationStrategy.None, Bert.TokensToString), ["O"]);
        Assert.Equal(
            [new("B-PER", 0.9, "En", 0, 2, 1), new("I-PER", 0.8, "##zo", 2, 4, 2), new("B-LOC", 0.7, "New", 14, 17, 5), new TokenEntity("I-LOC", 0.6, "York", 18, 22, 6)],
            none.Select(e => e with { Score = Math.Round(e.Score, 12) }));

        var simple = TokenEntityGrouping.Aggregate(tokens, Labels, AggregationStrategy.Simple, Bert.TokensToString);
        Assert.Equal(3, simple.Count);   // PER, then the O group of "lives in", then LOC
        AssertEntity(new("PER", (0.9 + 0.8) / 2, "Enzo", 0, 4), simple[0]);
        AssertEntity(new("O", (0.99 + 0.95) / 2, "lives in", 5, 13), simple[1]);
        AssertEntity(new("LOC", (0.7 + 0.6) / 2, "New York", 14, 22), simple[2]);
        Assert.Equal("Enzo", Text[simple[0].Start..simple[0].End]);
        Assert.Equal(2, TokenEntityGrouping.WithoutIgnored(simple, ["O"]).Count);
    }

    [Fact]
    public void ABTagStartsANewGroupAndAnUnprefixedLabelContinuesItsOwn()
    {
        string[] labels = ["O", "B-PER", "I-PER", "PER"];
        double[] P(int label) => [.. Enumerable.Range(0, 4).Select(i => i == label ? 0.7 : 0.1)];
        List<ScoredToken> tokens = [new(1, "Ann", P(1), 0, 3, false), new(2, "Bob", P(1), 4, 7, false), new(3, "Cy", P(3), 8, 10, false), new(4, "Di", P(2), 11, 13, false)];
        var groups = TokenEntityGrouping.Aggregate(tokens, labels, AggregationStrategy.Simple, Bert.TokensToString);
        // B-PER, then B-PER again (new group); "PER" and I-PER continue the second group.
        Assert.Equal([("PER", 0, 3), ("PER", 4, 13)], groups.Select(g => (g.Entity, g.Start, g.End)));
        Assert.Equal("Bob Cy Di", groups[1].Word);
    }

    [Theory]
    [InlineData(AggregationStrategy.First, "PER", 0.6)]    // the first token's best: B-PER 0.6
    [InlineData(AggregationStrategy.Max, "LOC", 0.9)]      // the most confident token: ##zo's B-LOC 0.9
    [InlineData(AggregationStrategy.Average, "LOC", 0.5)]  // mean of B-LOC: (0.1 + 0.9) / 2 beats B-PER's (0.6 + 0.025) / 2
    public void WordStrategiesLabelAWholeWordFromItsTokens(AggregationStrategy strategy, string group, double score)
    {
        var tokens = Tokens(("B-PER", 0.6), ("B-LOC", 0.9), ("O", 0.99), ("O", 0.95), ("B-LOC", 0.7), ("I-LOC", 0.6));
        var entities = TokenEntityGrouping.WithoutIgnored(TokenEntityGrouping.Aggregate(tokens, Labels, strategy, Bert.TokensToString), ["O"]);
        Assert.Equal(2, entities.Count);
        AssertEntity(new(group, score, "Enzo", 0, 4), entities[0]);
        AssertEntity(new("LOC", (0.7 + 0.6) / 2, "New York", 14, 22), entities[1]);
        // Simple does not see words: the subword's own label splits "Enzo" in two.
        var simple = TokenEntityGrouping.WithoutIgnored(TokenEntityGrouping.Aggregate(tokens, Labels, AggregationStrategy.Simple, Bert.TokensToString), ["O"]);
        Assert.Equal([("PER", "En"), ("LOC", "##zo")], simple.Take(2).Select(e => (e.Entity, e.Word)));
    }

    [Fact]
    public void WithoutAContinuingPrefixAWordBoundaryIsASpaceBeforeOrAtTheToken()
    {
        const string text = "New York, Yorkshire";
        Assert.False(TokenEntityGrouping.IsSubword(text, "New", 0, 3, wordAware: false));        // starts the text
        Assert.False(TokenEntityGrouping.IsSubword(text, "ĠYork", 4, 8, wordAware: false));      // a space before it
        Assert.True(TokenEntityGrouping.IsSubword(text, ",", 8, 9, wordAware: false));           // glued to "York": the heuristic's known miss
        Assert.True(TokenEntityGrouping.IsSubword(text, "shire", 14, 19, wordAware: false));
        Assert.Null(Tokenizer.FromFolder(ReferenceData.Tokenizer("modernbert-embed-base")).ContinuingSubwordPrefix);
        Assert.Null(Tokenizer.FromFolder(ReferenceData.Tokenizer("retrieva-bert-1.3b")).ContinuingSubwordPrefix);
    }

    [Fact]
    public void JapaneseOffsetsPointIntoTheOriginalText()
    {
        // BERT splits every kanji into a token of its own; kana it does not know become [UNK], which the pipeline shows
        // as the text it stands for.
        const string text = "山田さんは東京に住む。";
        Encoding e = Bert.Encode(text);
        int tokyo = text.IndexOf("東京", StringComparison.Ordinal);
        var tokens = new List<ScoredToken>();
        for (int i = 1; i < e.Length - 1; i++)
        {
            var (start, end) = e.Offsets[i];
            string label = start == tokyo ? "B-LOC" : start == tokyo + 1 ? "I-LOC" : "O";
            bool unknown = e.Ids[i] == Bert.UnkTokenId;
            tokens.Add(new ScoredToken(i, unknown ? text[start..end] : e.Tokens[i], Peaked(label, 0.8), start, end,
                !unknown && TokenEntityGrouping.IsSubword(text, e.Tokens[i], start, end, wordAware: true)));
        }
        TokenEntity loc = Assert.Single(TokenEntityGrouping.WithoutIgnored(TokenEntityGrouping.Aggregate(tokens, Labels, AggregationStrategy.Simple, Bert.TokensToString), ["O"]));
        Assert.Equal(("LOC", tokyo, tokyo + 2), (loc.Entity, loc.Start, loc.End));
        Assert.Equal("東京", text[loc.Start..loc.End]);
    }

    [Fact]
    public void OverlappingWindowsKeepTheLongerEntityThenTheSurer()
    {
        TokenEntity a = new("PER", 0.8, "Enzo", 0, 4), b = new("PER", 0.9, "Enzo", 0, 4);          // same span: the higher score
        TokenEntity c = new("LOC", 0.99, "York", 10, 20), d = new("LOC", 0.5, "York City", 12, 25); // d starts inside c and is longer
        TokenEntity e = new("ORG", 0.7, "ACME", 30, 35);
        Assert.Equal([b, d, e], TokenEntityGrouping.MergeOverlapping([e, c, a, d, b]));
        Assert.Empty(TokenEntityGrouping.MergeOverlapping([]));
    }

    static void AssertEntity(TokenEntity expected, TokenEntity actual)
    {
        Assert.Equal((expected.Entity, expected.Word, expected.Start, expected.End, expected.Index), (actual.Entity, actual.Word, actual.Start, actual.End, actual.Index));
        Assert.True(Math.Abs(expected.Score - actual.Score) <= 1e-12, $"{actual}: score {actual.Score}, expected {expected.Score}");
    }
}
