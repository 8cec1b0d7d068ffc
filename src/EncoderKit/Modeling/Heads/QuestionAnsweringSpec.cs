using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Heads;

/// <summary>
/// Extractive question answering: a per-token linear layer with two outputs, [..., 0] the span's start logit and
/// [..., 1] its end logit (BERT's qa_outputs; ModernBERT's head transform, dropout and classifier with two labels).
/// </summary>
/// <param name="Dropout">Whether the classifier dropout applies before the output: ModernBERT has it, BERT's and MegatronBERT's QA heads do not.</param>
public sealed record QuestionAnsweringSpec(HeadTransformSpec? Transform, bool Dropout) : HeadSpec
{
    public const string StartLogits = "start_logits";
    public const string EndLogits = "end_logits";

    public override string Module => "qa";
    public override string Output => "span_logits";
    public override Outputs Flag => Outputs.SpanLogits;

    /// <summary>[B, L, 2] split into start_logits and end_logits, each [B, L].</summary>
    public override IEnumerable<(string Name, Tensor Value)> Named(Tensor output) =>
        [(StartLogits, output.select(-1, 0)), (EndLogits, output.select(-1, 1))];

    public override Head Build(EncoderSpec spec, Parameter wordEmbeddings, IParameterSource source) =>
        new TokenClassifierHead(Module, spec.Hidden, Transform, labels: 2, bias: true, Dropout ? spec.Dropout.Classifier : 0, source);
}
