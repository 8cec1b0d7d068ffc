using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using EncoderKit.Modeling.Blocks;

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
public sealed class TokenClassifierHead : Head
{
    readonly double dropout;
    readonly HeadTransform? transform;
    readonly Dense output;

    public TokenClassifierHead(string name, int hidden, HeadTransformSpec? transformSpec, int labels, bool bias, double dropout, IParameterSource source) : base(name)
    {
        this.dropout = dropout;
        if (transformSpec is not null)
        {
            transform = new HeadTransform(name + ".transform", hidden, transformSpec, source);
            register_module("transform", transform);
        }
        output = new Dense(name + ".output", hidden, labels, bias, source);
        register_module("output", output);
    }

    public override Tensor Forward(HeadInputs inputs)
    {
        using var scope = NewDisposeScope();
        Tensor features = transform?.forward(inputs.LastHiddenState) ?? inputs.LastHiddenState;
        return output.forward(Blocks.Dropout.Apply(features, dropout, training)).MoveToOuterDisposeScope();
    }
}
