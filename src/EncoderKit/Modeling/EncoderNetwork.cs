using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using EncoderKit.Modeling.Blocks;
using EncoderKit.Modeling.Heads;

namespace EncoderKit.Modeling;

/// <summary>
/// The encoder every family runs: embeddings, N layers, final norm, and whichever heads the spec lists.
/// Internal parameter names (its state dict) are family-neutral; each family's weight map translates them.
/// </summary>
public sealed class EncoderNetwork : nn.Module
{
    readonly Embeddings embeddings;
    readonly ModuleList<EncoderLayer> layers;
    readonly Norm? finalNorm;
    readonly List<(HeadSpec Spec, Head Module)> heads = [];

    public EncoderNetwork(EncoderSpec spec, IParameterSource source) : base("encoder")
    {
        Spec = spec;
        embeddings = new Embeddings("embeddings", spec, source);
        register_module("embeddings", embeddings);
        layers = new ModuleList<EncoderLayer>();
        for (int i = 0; i < spec.Layers; i++) layers.Add(new EncoderLayer($"layers.{i}", i, spec, source));
        register_module("layers", layers);
        if (spec.Placement.FinalNorm)
        {
            finalNorm = new Norm("final_norm", spec.Hidden, spec.Norm, source);
            register_module("final_norm", finalNorm);
        }
        foreach (HeadSpec head in spec.Heads.All)
        {
            Head module = head.Build(spec, embeddings.Word, source);
            register_module(head.Module, module);
            heads.Add((head, module));
        }
    }

    public EncoderSpec Spec { get; }

    /// <param name="inputIds">[B, L] int64, or [B, C, L] for multiple choice: B × C rows whose outputs come back as [B, C, …].</param>
    /// <param name="attentionMask">[B, L] (or [B, C, L]), 1 for real tokens and 0 for padding; null when nothing is padded.</param>
    /// <param name="tokenTypeIds">[B, L] (or [B, C, L]) int64; null for all zeros. Ignored by families without token types.</param>
    /// <param name="attentionBias">Float [B or 1, heads, L, L] added to every layer's attention scores (ALiBi- or DeBERTa-style positions); null for none.</param>
    /// <param name="execution">Whether padding positions are computed; the default decides per batch (<see cref="BatchExecution.Auto"/>).</param>
    /// <remarks>Dropout applies when the network is in training mode (<c>train()</c>); gradients flow when grad mode is on.</remarks>
    public EncoderOutputs Forward(Tensor inputIds, Tensor? attentionMask, Tensor? tokenTypeIds, Outputs outputs, Tensor? attentionBias = null,
        BatchExecution execution = BatchExecution.Auto)
    {
        if (inputIds.dim() != 3) return ForwardRows(inputIds, attentionMask, tokenTypeIds, outputs, attentionBias, execution);
        // Multiple choice, as BertForMultipleChoice: every choice is a row of its own, regrouped per example afterwards.
        long batch = inputIds.shape[0], choices = inputIds.shape[1], length = inputIds.shape[2];
        using var scope = NewDisposeScope();
        using EncoderOutputs rows = ForwardRows(inputIds.reshape(-1, length), attentionMask?.reshape(-1, length), tokenTypeIds?.reshape(-1, length), outputs, attentionBias, execution);
        Tensor Regrouped(Tensor t) => t.reshape([batch, choices, .. t.shape[1..]]).MoveToOuterDisposeScope();
        return new EncoderOutputs
        {
            LastHiddenState = Regrouped(rows.LastHiddenState),
            HiddenStates = rows.HiddenStates.Select(Regrouped).ToList(),
            Heads = rows.Heads.Select(h => (h.Name, Regrouped(h.Value))).ToList(),
        };
    }

    EncoderOutputs ForwardRows(Tensor inputIds, Tensor? attentionMask, Tensor? tokenTypeIds, Outputs outputs, Tensor? attentionBias, BatchExecution execution)
    {
        using var scope = NewDisposeScope();
        long length = inputIds.shape[1];
        // Packed: every tensor between the embeddings and the final norm is the [T, H] stream of real tokens.
        using PackedTokens? packed = Packing(attentionMask, execution);
        using var masks = packed is null ? AttentionMasks.Build(Spec.Attention, attentionMask, length, inputIds.device)
            : AttentionMasks.Packed(Spec.Attention, packed, inputIds.device);
        // Built for the padded length either way: NomicBERT's dynamic NTK base follows it, as the reference's does.
        using var paddedRotaries = RotaryTables.Build(Spec, length, embeddings.Word.dtype, inputIds.device);
        using var packedRotaries = packed is null ? null : paddedRotaries?.At(packed.Columns);
        RotaryTables? rotaries = packedRotaries ?? paddedRotaries;
        Tensor Padded(Tensor t) => packed?.Unpack(t) ?? t;

        bool keepHidden = outputs.HasFlag(Outputs.HiddenStates);
        var hiddenStates = new List<Tensor>();
        Tensor x = embeddings.Forward(inputIds, tokenTypeIds, packed);
        if (keepHidden) hiddenStates.Add(Padded(x));
        for (int i = 0; i < layers.Count; i++)
        {
            bool global = Spec.Attention.IsGlobal(i);
            Tensor next = layers[i].Forward(x, new AttentionContext(masks, global, rotaries?.For(global), attentionBias));
            // Free each layer's input as soon as the next exists unless the caller keeps it: at 8192 tokens the hidden
            // states of all layers would otherwise stay alive until the pass ends (0.5-0.8 GB in fp32). Autograd
            // holds its own reference to what backward needs.
            if (!keepHidden || packed is not null) x.Dispose();
            x = next;
            if (keepHidden) hiddenStates.Add(Padded(x));
        }
        Tensor last = Padded(finalNorm?.forward(x) ?? x.alias());

        var computed = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var inputs = new HeadInputs(last, attentionMask, name => computed.TryGetValue(name, out var t) ? t
            : throw new InvalidOperationException($"head output '{name}' is read before it is computed; list the head that makes it first"));
        HashSet<string> needed = NeededHeads(outputs);
        var requested = new List<(string Name, Tensor Value)>();
        foreach (var (spec, module) in heads)
        {
            if (!needed.Contains(spec.Output)) continue;
            Tensor value = module.Forward(inputs);
            computed[spec.Output] = value;
            if (outputs.HasFlag(spec.Flag)) requested.AddRange(spec.Named(value));
        }
        var result = new EncoderOutputs { LastHiddenState = last, HiddenStates = hiddenStates, Heads = requested };
        foreach (var (_, tensor) in result.Named()) tensor.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>
    /// Auto unpads an inference batch once at least this share of its positions is padding. What unpadding adds (a
    /// gather before the first layer, a scatter after the last, attention one sequence at a time) costs a few percent:
    /// `bench unpadded` forces it on a ModernBERT-base-sized batch of 8 × 64 tokens without padding, fastest of 5
    /// alternating runs on a quiet 2-core AMD EPYC, +1.4%, +1.7%, +3.4% and +8.8% in four runs (792 against 803 ms in
    /// the first); runs of the same pass differ by as much. So a batch is unpadded from 5% padding on, and equal
    /// lengths stay padded.
    /// </summary>
    public const double PackFromPaddingShare = 0.05;

    bool LayersDrop => Spec.Dropout is var d && new[] { d.Embedding, d.AttentionProbabilities, d.AttentionOutput, d.MlpInner, d.MlpOutput }.Any(p => p > 0);

    PackedTokens? Packing(Tensor? attentionMask, BatchExecution execution)
    {
        if (attentionMask is null || execution == BatchExecution.Padded) return null;
        // Training stays padded: its batches are packed sequences already, and backward would run through every gather.
        // So does a pass in training mode without gradients whose layers drop, or that computes in bf16: GradCache's
        // second pass (with gradients, padded) must give the embeddings of its first, and dropout draws its masks over
        // the layout, while bf16's rounding moves when the matmuls' rows regroup (by a few units of 2^-8, against
        // fp32's ~1e-6). bf16 inference unpads: either layout's rounding is as close to the fp32 reference (Bf16ComputeTests).
        bool bf16 = embeddings.Word.dtype != ScalarType.Float32;
        if (execution == BatchExecution.Auto && (is_grad_enabled() || (training && (LayersDrop || bf16)))) return null;
        PackedTokens? packed = PackedTokens.FromMask(attentionMask);
        if (packed is not null && execution == BatchExecution.Auto && packed.PaddingShare < PackFromPaddingShare)
        {
            packed.Dispose();
            return null;
        }
        return packed;
    }

    // The requested heads and, transitively, the heads whose outputs they read (NSP reads the pooler's).
    HashSet<string> NeededHeads(Outputs outputs)
    {
        var needed = new HashSet<string>(StringComparer.Ordinal);
        for (int i = heads.Count - 1; i >= 0; i--)
        {
            HeadSpec spec = heads[i].Spec;
            if (!outputs.HasFlag(spec.Flag) && !needed.Contains(spec.Output)) continue;
            needed.Add(spec.Output);
            needed.UnionWith(spec.Reads);
        }
        return needed;
    }

    /// <summary>Mean of the real (unpadded) positions: sum(h * mask) / sum(mask).</summary>
    public static Tensor MeanPool(Tensor hidden, Tensor? attentionMask)
    {
        if (attentionMask is null) return hidden.mean([1L]);
        using var scope = NewDisposeScope();
        Tensor mask = attentionMask.unsqueeze(-1).to_type(hidden.dtype);
        return ((hidden * mask).sum(1) / mask.sum(1)).MoveToOuterDisposeScope();
    }
}
