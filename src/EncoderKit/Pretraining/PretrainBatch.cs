using EncoderKit.Modeling;
using EncoderKit.Training;
using static TorchSharp.torch;

namespace EncoderKit.Pretraining;

/// <summary>
/// One micro-batch of masked sequences as tensors, named as transformers' *ForPreTraining forward takes them:
/// input_ids, attention_mask, token_type_ids [B, L], labels [B, L] (−100 where not chosen), next_sentence_label [B].
/// </summary>
public sealed class PretrainBatch : IDisposable
{
    PretrainBatch(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds, Tensor labels, Tensor? nextSentenceLabel)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        TokenTypeIds = tokenTypeIds;
        Labels = labels;
        NextSentenceLabel = nextSentenceLabel;
    }

    public Tensor InputIds { get; }
    public Tensor AttentionMask { get; }
    public Tensor TokenTypeIds { get; }
    public Tensor Labels { get; }
    public Tensor? NextSentenceLabel { get; }

    /// <summary>Rows of equal length (one packing length) on <paramref name="device"/>.</summary>
    public static PretrainBatch From(IReadOnlyList<MaskedSequence> rows, Device device)
    {
        int batch = rows.Count, length = rows[0].InputIds.Length;
        if (rows.Any(r => r.InputIds.Length != length)) throw new ArgumentException("rows of different lengths", nameof(rows));
        long[] ids = new long[batch * length], mask = new long[batch * length], types = new long[batch * length], labels = new long[batch * length];
        for (int b = 0; b < batch; b++)
        {
            MaskedSequence row = rows[b];
            for (int i = 0; i < length; i++)
            {
                ids[b * length + i] = row.InputIds[i];
                mask[b * length + i] = i < row.Packed.RealLength ? 1 : 0;
                types[b * length + i] = row.Packed.TokenTypeIds[i];
                labels[b * length + i] = row.Labels[i];
            }
        }
        Tensor Make(long[] values) => tensor(values, [batch, length], device: device);
        Tensor? next = rows[0].Packed.NextSentenceLabel is null ? null
            : tensor(rows.Select(r => (long)(r.Packed.NextSentenceLabel ?? 0)).ToArray(), device: device);
        return new PretrainBatch(Make(ids), Make(mask), Make(types), Make(labels), next);
    }

    /// <summary>
    /// The loss of the model's pretraining heads (<see cref="TaskLoss.For"/>: MLM, plus NSP when the model has the head
    /// and the batch has pairs); token types go in only when the family has them.
    /// </summary>
    public Tensor Loss(EncoderModel model)
    {
        using EncoderOutputs outputs = Forward(model, NextSentenceLabel is not null ? Outputs.MlmLogits | Outputs.Nsp : Outputs.MlmLogits);
        var labels = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["labels"] = Labels };
        if (NextSentenceLabel is not null) labels["next_sentence_label"] = NextSentenceLabel;
        return TaskLoss.For(model.Spec.Heads, outputs, labels);
    }

    /// <summary>The model's <paramref name="outputs"/> for this batch; token types go in only when the family has them.</summary>
    public EncoderOutputs Forward(EncoderModel model, Outputs outputs) =>
        model.Network.Forward(InputIds, AttentionMask, model.Spec.Embeddings.TypeVocabSize > 0 ? TokenTypeIds : null, outputs);

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        TokenTypeIds.Dispose();
        Labels.Dispose();
        NextSentenceLabel?.Dispose();
    }
}
