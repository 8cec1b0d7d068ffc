using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Heads;

/// <summary>Token classification: every position's hidden state, optional transform, dropout, then a linear layer to the labels.</summary>
/// <param name="Transform">ModernBERT's dense / activation / norm, applied at every position; null for BERT and RetrievaBERT.</param>
public sealed record TokenClassifierSpec(int Labels, HeadTransformSpec? Transform, bool Bias, IReadOnlyList<string> LabelNames) : HeadSpec
{
    public override string Module => "token_classifier";
    public override string Output => "token_logits";
    public override Outputs Flag => Outputs.TokenLogits;

    public override Head Build(EncoderSpec spec, Parameter wordEmbeddings, IParameterSource source) =>
        new TokenClassifierHead(Module, spec.Hidden, Transform, Labels, Bias, spec.Dropout.Classifier, source);
}

/// <summary>[B, L, labels] logits, one row per position.</summary>
public sealed class TokenClassifierHead(string name, int hidden, HeadTransformSpec? transform, int labels, bool bias, double dropout, IParameterSource source)
    : ProjectionHead(name, hidden, transform, labels, bias, dropout, source)
{
    public override Tensor Forward(HeadInputs inputs) => Project(inputs.LastHiddenState);
}
