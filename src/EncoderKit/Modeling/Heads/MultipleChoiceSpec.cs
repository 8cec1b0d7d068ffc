using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Heads;

/// <summary>
/// Multiple choice: each (context, choice) row is pooled and scored by a classifier with one output, as the
/// sequence classifier of the same family pools (BERT: the pooler; ModernBERT: cls or mean, then its head
/// transform). Inputs [B, C, L] run as B × C rows; the scores come back as [B, C].
/// </summary>
public sealed record MultipleChoiceSpec(ClassifierPooling Pooling, HeadTransformSpec? Transform) : HeadSpec
{
    public override string Module => "choice";
    public override string Output => "choice_logits";
    public override Outputs Flag => Outputs.ChoiceLogits;
    public override IReadOnlyList<string> Reads => Pooling == ClassifierPooling.Pooler ? [PoolerSpec.OutputName] : [];

    /// <summary>One score per row: [N, 1] to [N], which the network regroups as [B, C] for [B, C, L] inputs.</summary>
    public override IEnumerable<(string Name, Tensor Value)> Named(Tensor output) => [(Output, output.squeeze(-1))];

    public override Head Build(EncoderSpec spec, Parameter wordEmbeddings, IParameterSource source) =>
        new ClassifierHead(Module, spec.Hidden, Pooling, Transform, labels: 1, bias: true, spec.Dropout.Classifier, source);
}
