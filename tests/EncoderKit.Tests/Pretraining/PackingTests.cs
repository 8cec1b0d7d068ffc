using EncoderKit.Pretraining;

namespace EncoderKit.Tests.Pretraining;

/// <summary>
/// Packing over a corpus of 120 documents of 1–150 words (many longer than a 64-token sequence): one epoch uses every
/// corpus token exactly once, in the epoch's document order, with separators exactly at document ends.
/// </summary>
public sealed class PackingTests
{
    const int Length = 64;
    static readonly int Cls = PretrainingCorpora.BertCased.ClsTokenId!.Value, Sep = PretrainingCorpora.BertCased.SepTokenId!.Value, Pad = PretrainingCorpora.BertCased.PadTokenId!.Value;

    static List<PackedSequence> Epoch(SequencePacker packer, PreparedCorpus corpus, int length = Length)
    {
        var sequences = new List<PackedSequence>();
        do sequences.Add(packer.Next(length));
        while (packer.Position.DocumentInOrder < corpus.DocumentCount);
        return sequences;
    }

    [Fact]
    public void FilledSequencesCoverEveryTokenOnceWithSeparatorsAtDocumentEnds()
    {
        using var folder = new TempFolder();
        PretrainingCorpora.Prepare(folder, PretrainingCorpora.Documents(120, 150));
        using var corpus = PreparedCorpus.Open(folder.File("corpus"));
        var packer = new SequencePacker(corpus, PackingMode.Fill, seed: 5, Cls, Sep, Pad);
        List<PackedSequence> sequences = Epoch(packer, corpus);

        var expected = new List<int>();
        var documentEnds = new HashSet<int>();   // indices into the content stream of each document's last token
        foreach (int d in packer.Order(0))
        {
            expected.AddRange(PretrainingCorpora.Ids(corpus.Document(d)));
            documentEnds.Add(expected.Count - 1);
        }
        var content = new List<int>();
        for (int s = 0; s < sequences.Count; s++)
        {
            PackedSequence sequence = sequences[s];
            Assert.Equal(Length, sequence.Length);
            // Full, except the epoch's last, and one short when a document ends where only its separator fits.
            if (s < sequences.Count - 1 && sequence.RealLength != Length) Assert.Equal((Length - 1, Sep), (sequence.RealLength, sequence.InputIds[Length - 2]));
            Assert.Equal(Cls, sequence.InputIds[0]);
            Assert.Equal(Sep, sequence.InputIds[sequence.RealLength - 1]);
            Assert.All(sequence.InputIds[sequence.RealLength..], id => Assert.Equal(Pad, id));
            for (int i = 1; i < sequence.RealLength - 1; i++)
            {
                if (sequence.InputIds[i] == Sep)
                {
                    Assert.Contains(content.Count - 1, documentEnds);   // an inner separator follows a document's last token
                    Assert.NotEqual(Sep, sequence.InputIds[i - 1]);
                }
                else content.Add(sequence.InputIds[i]);
            }
            Assert.All(Enumerable.Range(0, Length), i => Assert.Equal(sequence.InputIds[i] is var id && (id == Cls || id == Sep || id == Pad), sequence.Special[i]));
        }
        Assert.Equal(expected, content);
        // Every document end is followed by a separator: as many separators as documents, one of them closing each sequence it ends.
        int separators = sequences.Sum(s => s.InputIds.Take(s.RealLength).Count(id => id == Sep));
        int closingWithoutEnd = sequences.Count(s => s.InputIds[s.RealLength - 2] != Sep && !EndsADocument(s, sequences, documentEnds));
        Assert.Equal(corpus.DocumentCount, separators - closingWithoutEnd);
    }

    // Whether the token before a sequence's closing [SEP] is a document's last token.
    static bool EndsADocument(PackedSequence sequence, List<PackedSequence> all, HashSet<int> documentEnds)
    {
        int before = all.TakeWhile(s => !ReferenceEquals(s, sequence)).Sum(s => s.InputIds.Skip(1).Take(s.RealLength - 2).Count(id => id != Sep));
        int inSequence = sequence.InputIds.Skip(1).Take(sequence.RealLength - 2).Count(id => id != Sep);
        return documentEnds.Contains(before + inSequence - 1);
    }

    [Fact]
    public void OrderIsFixedBySeedAndEpochAndAPositionRestoresTheStream()
    {
        using var folder = new TempFolder();
        PretrainingCorpora.Prepare(folder, PretrainingCorpora.Documents(120, 150));
        using var corpus = PreparedCorpus.Open(folder.File("corpus"));
        var first = new SequencePacker(corpus, PackingMode.Fill, seed: 5, Cls, Sep, Pad);
        var second = new SequencePacker(corpus, PackingMode.Fill, seed: 5, Cls, Sep, Pad);
        Assert.Equal(first.Order(0), second.Order(0));
        Assert.NotEqual(first.Order(0), first.Order(1));
        Assert.NotEqual(first.Order(0), new SequencePacker(corpus, PackingMode.Fill, seed: 6, Cls, Sep, Pad).Order(0));

        List<PackedSequence> straight = [.. Enumerable.Range(0, 250).Select(i => first.Next(i < 100 ? 32 : 64))];   // across an epoch end and a length change
        Assert.True(first.Position.Epoch >= 1, "the run should cross into the second epoch");
        for (int i = 0; i < 150; i++) second.Next(i < 100 ? 32 : 64);
        var resumed = new SequencePacker(corpus, PackingMode.Fill, seed: 5, Cls, Sep, Pad) { Position = second.Position };
        for (int i = 150; i < 250; i++) Assert.Equal(straight[i].InputIds, resumed.Next(64).InputIds);
    }

    [Fact]
    public void SentencePairsHaveBertsLayoutAndHalfAreRandom()
    {
        using var folder = new TempFolder();
        string[] documents = PretrainingCorpora.Documents(200, 60);
        PretrainingCorpora.Prepare(folder, documents);
        using var corpus = PreparedCorpus.Open(folder.File("corpus"));
        var packer = new SequencePacker(corpus, PackingMode.NextSentencePairs, seed: 9, Cls, Sep, Pad);
        List<PackedSequence> sequences = Epoch(packer, corpus);
        var allDocuments = Enumerable.Range(0, (int)corpus.DocumentCount).Select(d => PretrainingCorpora.Ids(corpus.Document(d))).ToList();

        var consumed = new List<int>();
        foreach (PackedSequence s in sequences)
        {
            int firstSep = Array.IndexOf(s.InputIds, Sep), secondSep = s.RealLength - 1;
            Assert.Equal(Cls, s.InputIds[0]);
            Assert.Equal(Sep, s.InputIds[secondSep]);
            Assert.InRange(firstSep, 2, secondSep - 2);   // A and B each at least one token
            Assert.All(Enumerable.Range(0, Length), i => Assert.Equal(i > firstSep && i <= secondSep ? 1 : 0, s.TokenTypeIds[i]));
            int[] a = s.InputIds[1..firstSep], b = s.InputIds[(firstSep + 1)..secondSep];
            consumed.AddRange(a);
            Assert.NotNull(s.NextSentenceLabel);
            if (s.NextSentenceLabel == 0) consumed.AddRange(b);
            else Assert.Contains(allDocuments, d => ContainsSpan(d, b));   // a span of some document
        }
        Assert.Equal(packer.Order(0).SelectMany(d => allDocuments[d]), consumed);
        double randomShare = sequences.Average(s => (double)s.NextSentenceLabel!.Value);
        Assert.InRange(randomShare, 0.4, 0.6);   // ≈ half; short remainders (one token left) are always random
    }

    static bool ContainsSpan(int[] document, int[] span)
    {
        for (int start = 0; start + span.Length <= document.Length; start++)
            if (document.AsSpan(start, span.Length).SequenceEqual(span)) return true;
        return false;
    }
}
