using EncoderKit.Tokenization;

namespace EncoderKit.Tests.Tokenization;

/// <summary>WordPiece and the BERT pipeline on tiny vocabularies: each behaviour the reference has, one at a time.</summary>
public class WordPieceTests
{
    [Fact]
    public void GreedyLongestMatchWithContinuationPrefix()
    {
        var e = TinyTokenizers.Vocab().Encode("unaffable", options: new EncodeOptions { AddSpecialTokens = false });
        Assert.Equal(["un", "##aff", "##able"], e.Tokens);
        Assert.Equal([(0, 2), (2, 5), (5, 9)], e.Offsets);
        Assert.Equal([0, 0, 0], e.WordIds.Select(w => w!.Value));
    }

    [Fact]
    public void AWordWithAnUnknownPieceIsOneUnknownTokenOverTheWholeWord()
    {
        var e = TinyTokenizers.Vocab().Encode("unaffablez hello", options: new EncodeOptions { AddSpecialTokens = false });
        Assert.Equal(["[UNK]", "hello"], e.Tokens);
        Assert.Equal([(0, 10), (11, 16)], e.Offsets);
    }

    [Fact]
    public void WordsLongerThanMaxInputCharsAreUnknown()
    {
        var tok = TinyTokenizers.Json(maxChars: 3);
        Assert.Equal(["[CLS]", "a", "[UNK]", "[SEP]"], tok.Encode("a bbbb").Tokens);
        // Counted in code points: three astral chars are three, not six.
        Assert.Equal(3, tok.Encode("a 😀😀😀").Length - 1);
    }

    [Fact]
    public void SpecialTokensInTextAreOneTokenAndNotSpecialMasked()
    {
        var e = TinyTokenizers.Vocab().Encode("hello [MASK] world");
        Assert.Equal(["[CLS]", "hello", "[MASK]", "world", "[SEP]"], e.Tokens);
        Assert.Equal([1, 0, 0, 0, 1], e.SpecialTokensMask);
        Assert.Equal((6, 12), e.Offsets[2]);
        // Lowercasing does not touch the raw-text match, and "[mask]" is not the special token.
        Assert.DoesNotContain(4, TinyTokenizers.Vocab().Encode("[mask]").Ids);
    }

    [Fact]
    public void AccentsAreStrippedWhenLowercasingAndKeptWhenCased()
    {
        Assert.Equal(["e"], TinyTokenizers.Vocab().Encode("É", options: new() { AddSpecialTokens = false }).Tokens);
        Assert.Equal(["[UNK]"], TinyTokenizers.Vocab(lowercase: false).Encode("É", options: new() { AddSpecialTokens = false }).Tokens);
        var e = TinyTokenizers.Vocab(lowercase: false).Encode("é", options: new() { AddSpecialTokens = false });
        Assert.Equal(["é"], e.Tokens);
    }

    [Fact]
    public void OffsetsSurviveDecompositionAndRemovedControlChars()
    {
        string text = "\u0001he\u0301llo\u200b!";   // control, combining accent, zero-width space (Cf)
        var e = TinyTokenizers.Vocab().Encode(text, options: new() { AddSpecialTokens = false });
        Assert.Equal(["hello", "!"], e.Tokens);
        Assert.Equal([(1, 7), (8, 9)], e.Offsets);
    }

    [Fact]
    public void PairsGetTypeIdsAndSequenceIds()
    {
        var e = TinyTokenizers.Vocab().Encode("hello", "world");
        Assert.Equal(["[CLS]", "hello", "[SEP]", "world", "[SEP]"], e.Tokens);
        Assert.Equal([0, 0, 0, 1, 1], e.TypeIds);
        Assert.Equal([null, 0, null, 1, null], e.SequenceIds);
        Assert.Equal((0, 5), e.Offsets[3]);
    }

    [Fact]
    public void NothingIsTruncatedUnlessAsked()
    {
        var tok = TinyTokenizers.Vocab();
        var e = tok.Encode(string.Join(" ", Enumerable.Repeat("hello", 50)));
        Assert.Equal(52, e.Length);
        Assert.False(e.Truncated);
        var t = tok.Encode(string.Join(" ", Enumerable.Repeat("hello", 50)), options: EncodeOptions.Truncate(10));
        Assert.Equal(10, t.Length);
        Assert.True(t.Truncated);
        Assert.Equal("[SEP]", t.Tokens[^1]);
    }

    [Fact]
    public void LongestFirstTakesFromTheLongerSequence()
    {
        var tok = TinyTokenizers.Vocab();
        var e = tok.Encode("a b", "c c c c c c", EncodeOptions.Truncate(8));
        Assert.Equal(["[CLS]", "a", "b", "[SEP]", "c", "c", "c", "[SEP]"], e.Tokens);
        var first = tok.Encode("a b a b a", "c", new EncodeOptions { MaxLength = 6, Truncation = TruncationStrategy.OnlyFirst });
        Assert.Equal(["[CLS]", "a", "b", "[SEP]", "c", "[SEP]"], first.Tokens);
        var ex = Assert.Throws<EncoderKitException>(() =>
            tok.Encode("a", "c c c", new EncodeOptions { MaxLength = 5, Truncation = TruncationStrategy.OnlyFirst }));
        Assert.Equal(ErrorKind.BadInput, ex.Kind);
        Assert.Throws<EncoderKitException>(() => tok.Encode("a b c a b", null, new EncodeOptions { MaxLength = 5, Truncation = TruncationStrategy.OnlySecond }));
    }

    [Fact]
    public void StrideGivesOverlappingOverflowWindowsEachWithSpecialTokens()
    {
        var tok = TinyTokenizers.Vocab();
        var e = tok.Encode("a b c a b c a", options: new EncodeOptions { MaxLength = 5, Stride = 1 });
        Assert.Equal(["[CLS]", "a", "b", "c", "[SEP]"], e.Tokens);
        Assert.Equal([["[CLS]", "c", "a", "b", "[SEP]"], ["[CLS]", "b", "c", "a", "[SEP]"]], e.Overflowing.Select(o => o.Tokens));
        Assert.Equal((6, 7), e.Overflowing[0].Offsets[2]);
        var left = tok.Encode("a b c a b", options: new EncodeOptions { MaxLength = 4, TruncationSide = TruncationSide.Left });
        Assert.Equal(["[CLS]", "a", "b", "[SEP]"], left.Tokens);
        Assert.Equal((6, 7), left.Offsets[1]);
        Assert.Throws<EncoderKitException>(() => tok.Encode("a b c a b c", options: new EncodeOptions { MaxLength = 4, Stride = 2 }));
    }

    [Fact]
    public void PaddingRightLeftAndToAMultiple()
    {
        var tok = TinyTokenizers.Vocab();
        var batch = tok.EncodeBatch(["hello", "a b c"], new EncodeOptions { Padding = PaddingStrategy.Longest });
        Assert.Equal(["[CLS]", "hello", "[SEP]", "[PAD]", "[PAD]"], batch[0].Tokens);
        Assert.Equal([1, 1, 1, 0, 0], batch[0].AttentionMask);
        Assert.Equal([1, 0, 1, 1, 1], batch[0].SpecialTokensMask);
        var left = tok.Encode("hello", options: new EncodeOptions { Padding = PaddingStrategy.MaxLength, MaxLength = 6, PaddingSide = PaddingSide.Left });
        Assert.Equal([0, 0, 0, 2, 13, 3], left.Ids);
        Assert.Equal([null, null, null, null, 0, null], left.SequenceIds);
        var multiple = tok.Encode("hello", options: new EncodeOptions { Padding = PaddingStrategy.Longest, PadToMultipleOf = 8 });
        Assert.Equal(8, multiple.Length);
    }

    [Fact]
    public void DecodeJoinsPiecesAndSkipsSpecialTokens()
    {
        var tok = TinyTokenizers.Vocab();
        var ids = tok.Encode("unaffable hello , world !").Ids;
        Assert.Equal("unaffable hello, world!", tok.Decode(ids));
        Assert.Equal("[CLS] unaffable hello, world! [SEP]", tok.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void VocabularyLookupsAndSpecialTokenProperties()
    {
        var tok = TinyTokenizers.Vocab();
        Assert.Equal(22, tok.VocabSize);
        Assert.Equal(6, tok.TokenToId("##aff"));
        Assert.Null(tok.TokenToId("nope"));
        Assert.Equal("##able", tok.IdToToken(7));
        Assert.Null(tok.IdToToken(999));
        Assert.Equal(("[MASK]", 4), (tok.MaskToken, tok.MaskTokenId!.Value));
        Assert.Equal((0, 2, 3, 1), (tok.PadTokenId, tok.ClsTokenId, tok.SepTokenId, tok.UnkTokenId));
        Assert.Null(tok.BosTokenId);
    }

    [Fact]
    public void AddedTokenOptionsAreHonoured()
    {
        var added = new object[]
        {
            new { id = 4, content = "[MASK]", special = true, normalized = false, lstrip = true, rstrip = true },
            new { id = 17, content = "the", special = false, normalized = true, single_word = true },
        };
        var tok = TinyTokenizers.Json(added);
        var e = tok.Encode("a  [MASK]  b", options: new() { AddSpecialTokens = false });
        Assert.Equal(["a", "  [MASK]  ", "b"], e.Tokens);
        Assert.Equal([(0, 1), (1, 11), (11, 12)], e.Offsets);
        // "the" (normalized: matched after lowercasing) only as a whole word.
        var w = tok.Encode("THE thes", options: new() { AddSpecialTokens = false });
        Assert.Equal(["the", "the", "##s"], w.Tokens);
        Assert.Equal([(0, 3), (4, 7), (7, 8)], w.Offsets);
    }

    [Fact]
    public void ConcurrentEncodesGiveTheSameAnswers()
    {
        var tok = TinyTokenizers.Vocab();
        var texts = Enumerable.Range(0, 2000).Select(i => i % 2 == 0 ? "unaffable hello" : "a b c é !").ToList();
        var results = new Encoding[texts.Count];
        Parallel.For(0, texts.Count, i => results[i] = tok.Encode(texts[i]));
        Assert.All(results, (r, i) => Assert.Equal(tok.Encode(texts[i]).Ids, r.Ids));
    }

    [Fact]
    public void BadFilesAreTypedErrorsNamingTheFileAndField()
    {
        string dir = TinyTokenizers.TempDir();
        string path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}, \"normalizer\": {\"type\": \"Shout\"}}");
        var e = Assert.Throws<EncoderKitException>(() => Tokenizer.FromFile(path));
        Assert.Equal(ErrorKind.BadTokenizer, e.Kind);
        Assert.Equal("normalizer.type", e.Field);
        File.WriteAllText(path, "{\"model\": ");
        Assert.Equal(ErrorKind.BadTokenizer, Assert.Throws<EncoderKitException>(() => Tokenizer.FromFile(path)).Kind);
        File.WriteAllText(path, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}");
        Assert.Contains("[UNK]", Assert.Throws<EncoderKitException>(() => Tokenizer.FromFile(path)).Message);
        Assert.Equal(ErrorKind.MissingFile, Assert.Throws<EncoderKitException>(() => Tokenizer.FromFolder(Path.Combine(dir, "none"))).Kind);
        File.Delete(path);
        Assert.Equal(ErrorKind.MissingFile, Assert.Throws<EncoderKitException>(() => Tokenizer.FromFolder(dir)).Kind);
    }
}
