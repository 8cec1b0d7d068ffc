using TorchSharp;
using static TorchSharp.torch;
using EncoderKit.Modeling.Blocks;

namespace EncoderKit.Modeling.Heads;

/// <summary>Sequence classification from a pooled vector: optional transform, then a linear layer to the labels.</summary>
public sealed class ClassifierHead : nn.Module<Tensor, Tensor>
{
    readonly HeadTransform? transform;
    readonly Dense output;

    public ClassifierHead(string name, int hidden, ClassifierSpec spec, IParameterSource source) : base(name)
    {
        if (spec.Transform is not null)
        {
            transform = new HeadTransform(name + ".transform", hidden, spec.Transform, source);
            register_module("transform", transform);
        }
        output = new Dense(name + ".output", hidden, spec.Labels, spec.Bias, source);
        register_module("output", output);
    }

    public override Tensor forward(Tensor pooled)   // [B, H] → [B, labels]
    {
        using var scope = NewDisposeScope();
        return output.forward(transform?.forward(pooled) ?? pooled).MoveToOuterDisposeScope();
    }
}
