using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Pretraining;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Pretraining;

/// <summary>The held-out slice: the corpus's last documents, kept from training, masked once so every evaluation scores the same positions.</summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class HeldOutEvaluationTests
{
    static readonly int Cls = PretrainingCorpora.BertCased.ClsTokenId!.Value, Sep = PretrainingCorpora.BertCased.SepTokenId!.Value,
        Pad = PretrainingCorpora.BertCased.PadTokenId!.Value, Mask = PretrainingCorpora.BertCased.MaskTokenId!.Value;

    static MlmMasking Masking() => new(new MaskingOptions(), Mask, PretrainingCorpora.BertCased.VocabSize,
        PretrainingCorpora.BertCased.AddedTokens.Where(t => t.Special).Select(t => t.Id).ToHashSet());

    [Fact]
    public void TheSliceIsTheLastDocumentsAndTrainingPacksOnlyTheOthers()
    {
        using var folder = new TempFolder();
        PretrainingCorpora.Prepare(folder, PretrainingCorpora.Documents(200, 12));
        using var corpus = PreparedCorpus.Open(folder.File("corpus"));
        using var heldOut = HeldOutEvaluation.Create(corpus, sequences: 8, seqLen: 32, batchSize: 3, Masking(), seed: 5, Cls, Sep, Pad, CPU);
        Assert.Equal(8, heldOut.Sequences);
        DocumentSlice training = heldOut.TrainingDocuments;
        Assert.Equal(0, training.First);
        Assert.InRange(training.Count, 150, 199);
        // The held-out documents hold at least the 8 × 31 tokens (with separators) the sequences need, and not one document more.
        long HeldOutTokens(long first) => Enumerable.Range((int)first, (int)(corpus.DocumentCount - first)).Sum(d => corpus.DocumentLength(d) + 1L);
        Assert.True(HeldOutTokens(training.Count) >= 8 * 31);
        Assert.True(HeldOutTokens(training.Count + 1) < 8 * 31);

        // One epoch of the training packer: exactly the tokens of the documents before the slice.
        var packer = new SequencePacker(corpus, PackingMode.Fill, seed: 5, Cls, Sep, Pad, training);
        long packed = 0;
        do
        {
            PackedSequence sequence = packer.Next(32);
            packed += Enumerable.Range(0, sequence.Length).Count(i => !sequence.Special[i]);
        }
        while (packer.Position.DocumentInOrder < training.Count);
        Assert.Equal(Enumerable.Range(0, (int)training.Count).Sum(d => (long)corpus.DocumentLength(d)), packed);
    }

    [Fact]
    public void EveryEvaluationScoresTheSamePositions()
    {
        using var folder = new TempFolder();
        PretrainingCorpora.Prepare(folder, PretrainingCorpora.Documents(200, 12));
        using var corpus = PreparedCorpus.Open(folder.File("corpus"));
        ConfigJson config = ConfigJson.Load(Path.Combine(ReferenceData.Model("bert"), "config.json"));
        using EncoderModel model = EncoderModel.CreateRandom(config, new ComputeOptions(), seed: 3);
        using var heldOut = HeldOutEvaluation.Create(corpus, 8, 32, 3, Masking(), seed: 5, Cls, Sep, Pad, CPU);
        using var again = HeldOutEvaluation.Create(corpus, 8, 32, 3, Masking(), seed: 5, Cls, Sep, Pad, CPU);
        model.Network.train();
        MlmScore first = heldOut.Evaluate(model);
        Assert.True(model.Network.training, "evaluation leaves the model in the mode it found it in");
        // Same masks and no dropout: the same score every time, and from a second slice built with the same seed.
        Assert.Equal(first, heldOut.Evaluate(model));
        Assert.Equal(first, again.Evaluate(model));
        // About 15% of 8 × ~29 content tokens chosen; a random model over 28,996 tokens scores near ln V and near 0.
        Assert.InRange(first.Tokens, 15, 70);
        Assert.InRange(first.Loss, 8, 12);
        Assert.InRange(first.Accuracy, 0, 0.1);
    }
}
