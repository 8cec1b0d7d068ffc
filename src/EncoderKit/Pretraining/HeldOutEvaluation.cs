using EncoderKit.Modeling;
using EncoderKit.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Pretraining;

/// <summary>MLM loss (mean cross-entropy per chosen token) and accuracy (share of chosen tokens whose top logit is the original).</summary>
public sealed record MlmScore(double Loss, double Accuracy, long Tokens);

/// <summary>
/// Masked-token accuracy on a held-out slice of the corpus: the corpus's last documents, which the training packer is
/// then not given (<see cref="TrainingDocuments"/>), packed once and masked once by a generator seeded by (seed, row),
/// so every evaluation of a run scores the same positions and the figures are comparable across it.
/// </summary>
public sealed class HeldOutEvaluation : IDisposable
{
    readonly List<PretrainBatch> batches;

    HeldOutEvaluation(List<PretrainBatch> batches, DocumentSlice trainingDocuments, int sequences)
    {
        this.batches = batches;
        TrainingDocuments = trainingDocuments;
        Sequences = sequences;
    }

    /// <summary>The documents left to training: all before the held-out slice.</summary>
    public DocumentSlice TrainingDocuments { get; }

    /// <summary>The held-out sequences scored (fewer than asked when the slice packs into fewer).</summary>
    public int Sequences { get; }

    /// <summary>
    /// Holds out the corpus's last documents, as many as fill <paramref name="sequences"/> sequences of
    /// <paramref name="seqLen"/> positions, and masks them with <paramref name="masking"/>.
    /// </summary>
    /// <param name="batchSize">Sequences per forward pass.</param>
    /// <exception cref="EncoderKitException">The slice would take every document of the corpus.</exception>
    public static HeldOutEvaluation Create(PreparedCorpus corpus, int sequences, int seqLen, int batchSize, MlmMasking masking, long seed,
        int clsId, int sepId, int padId, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sequences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        // A filled sequence holds seqLen − 1 tokens besides its [CLS], separators included.
        long wanted = (long)sequences * (seqLen - 1), tokens = 0, first = corpus.DocumentCount;
        while (first > 0 && tokens < wanted) tokens += corpus.DocumentLength(--first) + 1;
        if (first == 0)
            throw new EncoderKitException(ErrorKind.BadInput,
                $"holding out {sequences} sequences of {seqLen} tokens for evaluation takes all {corpus.DocumentCount} documents of the corpus; give fewer eval_sequences",
                corpus.Folder, "eval_sequences");
        var packer = new SequencePacker(corpus, PackingMode.Fill, seed, clsId, sepId, padId, new DocumentSlice(first, corpus.DocumentCount - first));
        var rows = new List<MaskedSequence>();
        while (rows.Count < sequences)
        {
            PackedSequence sequence = packer.Next(seqLen);
            if (packer.Position.Epoch > 0) break;   // the slice is used up: no sequence twice
            rows.Add(masking.Mask(sequence, new DataOrderGenerator(SeedMix.Of(seed, SeedMix.HeldOut, rows.Count))));
        }
        var batches = new List<PretrainBatch>();
        try
        {
            foreach (MaskedSequence[] chunk in rows.Chunk(batchSize)) batches.Add(PretrainBatch.From(chunk, device));
        }
        catch
        {
            foreach (PretrainBatch batch in batches) batch.Dispose();
            throw;
        }
        return new HeldOutEvaluation(batches, new DocumentSlice(0, first), rows.Count);
    }

    /// <summary>The model's MLM score on the held-out sequences, in eval mode (no dropout) and without gradients.</summary>
    public MlmScore Evaluate(EncoderModel model)
    {
        bool training = model.Network.training;
        model.Network.eval();
        try
        {
            using var noGrad = no_grad();
            double lossSum = 0;
            long correct = 0, chosen = 0;
            using Scalar ignored = TaskLoss.IgnoreIndex.ToScalar();
            foreach (PretrainBatch batch in batches)
            {
                using var scope = NewDisposeScope();
                using EncoderOutputs outputs = batch.Forward(model, Outputs.MlmLogits);
                Tensor logits = outputs.MlmLogits!.to_type(ScalarType.Float32), labels = batch.Labels;
                Tensor scored = labels.ne(ignored);
                lossSum += nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index: TaskLoss.IgnoreIndex, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.argmax(-1).eq(labels).logical_and(scored).sum().item<long>();
                chosen += scored.sum().item<long>();
            }
            return new MlmScore(chosen == 0 ? 0 : lossSum / chosen, chosen == 0 ? 0 : (double)correct / chosen, chosen);
        }
        finally
        {
            if (training) model.Network.train();
        }
    }

    public void Dispose()
    {
        foreach (PretrainBatch batch in batches) batch.Dispose();
        batches.Clear();
    }
}
