using EncoderKit.Pretraining;
using EncoderKit.Tokenization;
using EncoderKit.Training;

namespace EncoderKit.Tests.Pretraining;

/// <summary>
/// Whole-word masking over the word units of each tokenizer kind (WordPiece ##, SentencePiece ▁, byte-level BPE Ġ)
/// and of MeCab for Japanese: every chosen word is chosen with all its tokens, never part of one; the chosen share is
/// round(n × 0.15) per sequence as DataCollatorForWholeWordMask aims for (within one word's tokens of it).
/// </summary>
public sealed class WholeWordMaskingTests
{
    const string English = "The unbelievably antidisestablishmentarian philosophers reconsidered extraordinarily complicated tokenization, "
        + "while overwhelmingly enthusiastic mathematicians counterbalanced incomprehensibilities and electroencephalographs.";

    // MeCab with UniDic (mecab -d /var/lib/mecab/dic/unidic -Owakati): 東京 都 に 住ん で い ます 。 今日 は 良い 天気 です ね 。
    const string Japanese = "東京都に住んでいます。今日は良い天気ですね。";
    static readonly int[] JapaneseWordStarts = [0, 2, 3, 4, 6, 7, 8, 10, 11, 13, 14, 16, 18, 20, 21];

    static Tokenizer Load(string name) => Tokenizer.FromFolder(ReferenceData.Tokenizer(name));

    static PackedSequence Sequence(Tokenizer tokenizer, string text, IReadOnlyList<(int Start, int End)>? mecabWords = null)
    {
        Encoding encoding = tokenizer.Encode(text, options: new EncodeOptions { AddSpecialTokens = false });
        bool[] starts = WordBoundaries.Of(tokenizer, encoding, mecabWords);
        int length = encoding.Length + 2;
        int[] ids = [0, .. encoding.Ids, 0];
        bool[] special = [true, .. encoding.Ids.Select(_ => false), true];
        return new PackedSequence(ids, new int[length], special, [true, .. starts, true], length, null);
    }

    static void AssertWholeWords(PackedSequence sequence, int expectedMultiTokenWords)
    {
        var words = new List<(int Start, int End)>();
        for (int i = 1; i < sequence.Length - 1; i++)
            if (sequence.WordStart[i]) words.Add((i, i + 1));
            else words[^1] = (words[^1].Start, i + 1);
        Assert.True(words.Count(w => w.End - w.Start > 1) >= expectedMultiTokenWords, "the text must have words of several tokens for the test to mean anything");
        var masking = new MlmMasking(new MaskingOptions { WholeWordMasking = true }, maskTokenId: 3, vocabSize: 1000);
        int maskable = sequence.Length - 2, longest = words.Max(w => w.End - w.Start);
        int target = Math.Max(1, (int)Math.Round(maskable * 0.15, MidpointRounding.ToEven));
        for (int draw = 0; draw < 500; draw++)
        {
            MaskedSequence masked = masking.Mask(sequence, MlmMasking.GeneratorFor(11, draw, 0));
            Assert.Equal(TaskLoss.IgnoreIndex, masked.Labels[0]);
            Assert.Equal(TaskLoss.IgnoreIndex, masked.Labels[^1]);
            foreach (var (start, end) in words)
            {
                int chosen = Enumerable.Range(start, end - start).Count(i => masked.Labels[i] != TaskLoss.IgnoreIndex);
                Assert.True(chosen == 0 || chosen == end - start, $"draw {draw}: {chosen} of the {end - start} tokens of the word at {start} chosen");
            }
            int total = masked.Labels.Count(l => l != TaskLoss.IgnoreIndex);
            Assert.InRange(total, Math.Max(1, target - longest + 1), target);
        }
    }

    [Fact]
    public void WordPieceContinuationsStayWithTheirWord()
    {
        Tokenizer tokenizer = Load("bert-base-cased");
        PackedSequence sequence = Sequence(tokenizer, English);
        for (int i = 1; i < sequence.Length - 1; i++)
            Assert.Equal(!tokenizer.IdToToken(sequence.InputIds[i])!.StartsWith("##", StringComparison.Ordinal), sequence.WordStart[i]);
        AssertWholeWords(sequence, expectedMultiTokenWords: 5);
    }

    [Theory]
    [InlineData("retrieva-bert-1.3b", '▁')]        // SentencePiece: a word begins at the metaspace
    [InlineData("modernbert-embed-base", 'Ġ')]     // byte-level BPE: a word begins at the space mark
    public void SpaceMarkedWordsBeginAtTheMark(string name, char mark)
    {
        Tokenizer tokenizer = Load(name);
        PackedSequence sequence = Sequence(tokenizer, English);
        for (int i = 2; i < sequence.Length - 1; i++)
            Assert.Equal(tokenizer.IdToToken(sequence.InputIds[i])!.StartsWith(mark), sequence.WordStart[i]);
        AssertWholeWords(sequence, expectedMultiTokenWords: 5);
    }

    /// <summary>Needs libmecab2 and unidic-mecab (.ci/install-mecab.sh): without them this fails, naming what to install.</summary>
    [Fact]
    public void MecabGivesUniDicShortUnits()
    {
        using MecabSegmenter mecab = MecabSegmenter.Create();
        Assert.EndsWith("unidic", mecab.Dictionary);
        List<(int Start, int End)> words = mecab.Words(Japanese);
        Assert.Equal(JapaneseWordStarts, words.Select(w => w.Start));
        Assert.Equal([.. JapaneseWordStarts.Skip(1), Japanese.Length], words.Select(w => w.End));
        // Lines are parsed one by one and the offsets stay the text's.
        Assert.Equal([.. JapaneseWordStarts, .. JapaneseWordStarts.Select(s => s + Japanese.Length + 1)], mecab.Words(Japanese + "\n" + Japanese).Select(w => w.Start));
    }

    [Fact]
    public void JapaneseWholeWordMaskingKeepsEachMecabWordWhole()
    {
        using MecabSegmenter mecab = MecabSegmenter.Create();
        Tokenizer tokenizer = Load("tohokunlp-bert-500m-sq4096-alpha");
        string text = string.Concat(Enumerable.Repeat(Japanese, 4));
        List<(int Start, int End)> words = mecab.Words(text);
        PackedSequence sequence = Sequence(tokenizer, text, words);
        Encoding encoding = tokenizer.Encode(text, options: new EncodeOptions { AddSpecialTokens = false });
        // Each MeCab word as the sequence positions of the tokens overlapping it (position 0 is [CLS]).
        List<int[]> wordTokens = [.. words.Select(w => Enumerable.Range(0, encoding.Length)
            .Where(i => encoding.Offsets[i].Start < w.End && encoding.Offsets[i].End > w.Start).Select(i => i + 1).ToArray())];
        Assert.Contains(wordTokens, t => t.Length > 1);   // some word spans several tokens (住ん: 住 + んで)
        var masking = new MlmMasking(new MaskingOptions { WholeWordMasking = true }, maskTokenId: 3, vocabSize: 1000);
        for (int draw = 0; draw < 500; draw++)
        {
            MaskedSequence masked = masking.Mask(sequence, MlmMasking.GeneratorFor(13, draw, 0));
            foreach (int[] tokens in wordTokens)
            {
                int chosen = tokens.Count(i => masked.Labels[i] != TaskLoss.IgnoreIndex);
                Assert.True(chosen == 0 || chosen == tokens.Length, $"draw {draw}: {chosen} of the {tokens.Length} tokens of a MeCab word chosen");
            }
        }
        AssertWholeWords(sequence, expectedMultiTokenWords: 3);
    }
}
