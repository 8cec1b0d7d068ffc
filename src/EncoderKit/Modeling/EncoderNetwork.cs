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
    readonly MlmHead? mlm;
    readonly Dense? pooler, nsp;
    readonly ClassifierHead? classifier;

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
        HeadsSpec heads = spec.Heads;
        if (heads.Mlm is not null)
        {
            mlm = new MlmHead("mlm", spec, heads.Mlm, embeddings.Word, source);
            register_module("mlm", mlm);
        }
        if (heads.Pooler)
        {
            pooler = new Dense("pooler", spec.Hidden, spec.Hidden, hasBias: true, source);
            register_module("pooler", pooler);
        }
        if (heads.NspClasses is { } nspClasses)
        {
            nsp = new Dense("nsp", spec.Hidden, nspClasses, hasBias: true, source);
            register_module("nsp", nsp);
        }
        if (heads.Classifier is not null)
        {
            classifier = new ClassifierHead("classifier", spec.Hidden, heads.Classifier, source);
            register_module("classifier", classifier);
        }
    }

    public EncoderSpec Spec { get; }

    /// <param name="inputIds">[B, L] int64.</param>
    /// <param name="attentionMask">[B, L], 1 for real tokens and 0 for padding; null when nothing is padded.</param>
    /// <param name="tokenTypeIds">[B, L] int64; null for all zeros. Ignored by families without token types.</param>
    public EncoderOutputs Forward(Tensor inputIds, Tensor? attentionMask, Tensor? tokenTypeIds, Outputs outputs)
    {
        using var scope = NewDisposeScope();
        long length = inputIds.shape[1];
        using var masks = AttentionMasks.Build(Spec.Attention, attentionMask, length, inputIds.device);
        using var rotaries = RotaryTables.Build(Spec, length, embeddings.Word.dtype, inputIds.device);

        bool keepHidden = outputs.HasFlag(Outputs.HiddenStates);
        var hiddenStates = new List<Tensor>();
        Tensor x = embeddings.Forward(inputIds, tokenTypeIds);
        if (keepHidden) hiddenStates.Add(x);
        for (int i = 0; i < layers.Count; i++)
        {
            bool global = Spec.Attention.IsGlobal(i);
            Tensor next = layers[i].Forward(x, new AttentionContext(masks, global, rotaries?.For(global)));
            // Free each layer's input as soon as the next exists unless the caller keeps it: at 8192 tokens the
            // hidden states of all layers would otherwise stay alive until the pass ends (0.5-0.8 GB in fp32).
            if (!keepHidden) x.Dispose();
            x = next;
            if (keepHidden) hiddenStates.Add(x);
        }
        Tensor last = finalNorm?.forward(x) ?? x.alias();

        Tensor? pooled = pooler is not null && outputs.HasFlag(Outputs.Pooler) || NeedsPooler(outputs)
            ? pooler!.forward(last.select(1, 0)).tanh()
            : null;
        var result = new EncoderOutputs
        {
            LastHiddenState = last,
            HiddenStates = hiddenStates,
            MlmLogits = mlm is not null && outputs.HasFlag(Outputs.MlmLogits) ? mlm.forward(last) : null,
            PoolerOutput = outputs.HasFlag(Outputs.Pooler) ? pooled : null,
            NspLogits = nsp is not null && outputs.HasFlag(Outputs.Nsp) ? nsp.forward(pooled!) : null,
            ClassifierLogits = classifier is not null && outputs.HasFlag(Outputs.Classifier)
                ? classifier.forward(PoolForClassifier(last, pooled, attentionMask))
                : null,
        };
        foreach (var (_, tensor) in result.Named()) tensor.MoveToOuterDisposeScope();
        return result;
    }

    bool NeedsPooler(Outputs outputs) =>
        pooler is not null &&
        (nsp is not null && outputs.HasFlag(Outputs.Nsp) ||
         classifier is not null && outputs.HasFlag(Outputs.Classifier) && Spec.Heads.Classifier!.Pooling == ClassifierPooling.Pooler);

    Tensor PoolForClassifier(Tensor last, Tensor? pooled, Tensor? attentionMask) => Spec.Heads.Classifier!.Pooling switch
    {
        ClassifierPooling.Pooler => pooled!,
        ClassifierPooling.Cls => last.select(1, 0),
        _ => MeanPool(last, attentionMask),
    };

    /// <summary>Mean of the real (unpadded) positions: sum(h * mask) / sum(mask).</summary>
    public static Tensor MeanPool(Tensor hidden, Tensor? attentionMask)
    {
        if (attentionMask is null) return hidden.mean([1L]);
        using var scope = NewDisposeScope();
        Tensor mask = attentionMask.unsqueeze(-1).to_type(hidden.dtype);
        return ((hidden * mask).sum(1) / mask.sum(1)).MoveToOuterDisposeScope();
    }
}
