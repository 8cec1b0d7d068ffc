using TorchSharp;
using static TorchSharp.torch;
using EncoderKit.Modeling.Blocks;

namespace EncoderKit.Modeling.Heads;

/// <summary>
/// What every classifier head ends in: optional transform, dropout (training only), then a linear layer to its
/// outputs. Sequence classification and multiple choice feed it a pooled vector, token classification and QA every
/// position.
/// </summary>
public abstract class ProjectionHead : Head
{
    readonly double dropout;
    readonly HeadTransform? transform;
    readonly Dense output;

    protected ProjectionHead(string name, int hidden, HeadTransformSpec? transformSpec, int outputs, bool bias, double dropout, IParameterSource source) : base(name)
    {
        this.dropout = dropout;
        if (transformSpec is not null)
        {
            transform = new HeadTransform(name + ".transform", hidden, transformSpec, source);
            register_module("transform", transform);
        }
        output = new Dense(name + ".output", hidden, outputs, bias, source);
        register_module("output", output);
    }

    protected Tensor Project(Tensor features)
    {
        using var scope = NewDisposeScope();
        Tensor transformed = transform?.forward(features) ?? features;
        return output.forward(Blocks.Dropout.Apply(transformed, dropout, training)).MoveToOuterDisposeScope();
    }
}
