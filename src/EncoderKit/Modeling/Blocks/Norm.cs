using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>LayerNorm or RMSNorm over the last dimension, with or without bias, as the spec says.</summary>
public sealed class Norm : nn.Module<Tensor, Tensor>
{
    readonly NormSpec spec;
    readonly long[] shape;
    readonly Parameter weight;
    readonly Parameter? bias;

    public Norm(string name, long size, NormSpec spec, IParameterSource source) : base(name)
    {
        this.spec = spec;
        shape = [size];
        weight = new Parameter(source.Take(name + ".weight", shape, Init.Ones));
        register_parameter("weight", weight);
        if (spec.Bias && spec.Kind == NormKind.LayerNorm)
        {
            bias = new Parameter(source.Take(name + ".bias", shape, Init.Zeros));
            register_parameter("bias", bias);
        }
    }

    public override Tensor forward(Tensor x)
    {
        if (spec.Kind == NormKind.LayerNorm) return nn.functional.layer_norm(x, shape, weight, bias, spec.Eps);
        // RMSNorm as Llama computes it: statistics in float32 whatever the compute dtype, then back.
        using var scope = NewDisposeScope();
        Tensor x32 = x.to_type(ScalarType.Float32);
        Tensor normed = x32 * rsqrt(x32.square().mean([-1L], keepdim: true) + spec.Eps);
        return (weight * normed.to_type(x.dtype)).MoveToOuterDisposeScope();
    }
}
