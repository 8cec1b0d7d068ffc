using TorchSharp;
using static TorchSharp.torch;
using EncoderKit.Modeling.Blocks;

namespace EncoderKit.Modeling.Heads;

/// <summary>Dense → activation → norm: BERT's MLM transform, ModernBERT's prediction head.</summary>
public sealed class HeadTransform : nn.Module<Tensor, Tensor>
{
    readonly Activation activation;
    readonly Dense dense;
    readonly Norm norm;

    public HeadTransform(string name, int hidden, MlmTransformSpec spec, IParameterSource source) : base(name)
    {
        activation = spec.Activation;
        dense = new Dense(name + ".dense", hidden, hidden, spec.DenseBias, source);
        norm = new Norm(name + ".norm", hidden, spec.Norm, source);
        register_module("dense", dense);
        register_module("norm", norm);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return norm.forward(Activations.Apply(activation, dense.forward(x))).MoveToOuterDisposeScope();
    }
}
