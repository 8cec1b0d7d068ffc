using TorchSharp;
using static TorchSharp.torch;
using EncoderKit.Modeling.Blocks;

namespace EncoderKit.Modeling.Heads;

/// <summary>Dense + activation (+ norm) between the encoder and a head's output projection.</summary>
/// <param name="Norm">The norm after the activation (BERT's MLM transform, ModernBERT's head); null for none (RoBERTa's classifier: dense, tanh).</param>
public sealed record HeadTransformSpec(Activation Activation, NormSpec? Norm, bool DenseBias);

/// <summary>Dense → activation → norm: BERT's MLM transform, ModernBERT's prediction head; without the norm, RoBERTa's classifier dense + tanh.</summary>
public sealed class HeadTransform : nn.Module<Tensor, Tensor>
{
    readonly Activation activation;
    readonly Dense dense;
    readonly Norm? norm;

    public HeadTransform(string name, int hidden, HeadTransformSpec spec, IParameterSource source) : base(name)
    {
        activation = spec.Activation;
        dense = new Dense(name + ".dense", hidden, hidden, spec.DenseBias, source);
        register_module("dense", dense);
        if (spec.Norm is not null)
        {
            norm = new Norm(name + ".norm", hidden, spec.Norm, source);
            register_module("norm", norm);
        }
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor activated = Activations.Apply(activation, dense.forward(x));
        return (norm?.forward(activated) ?? activated).MoveToOuterDisposeScope();
    }
}
