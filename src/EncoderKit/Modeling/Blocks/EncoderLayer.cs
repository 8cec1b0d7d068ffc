using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>One transformer block: attention then MLP, each with a residual and a norm before or after.</summary>
public sealed class EncoderLayer : nn.Module
{
    readonly bool preNorm;
    readonly Attention attention;
    readonly Norm? attentionNorm;
    readonly Mlp mlp;
    readonly Norm mlpNorm;

    public EncoderLayer(string name, int index, EncoderSpec spec, IParameterSource source) : base(name)
    {
        preNorm = spec.Placement.PreNorm;
        attention = new Attention(name + ".attention", spec.Hidden, spec.Attention, spec.Dropout, source);
        register_module("attention", attention);
        if (!preNorm || index > 0 || spec.Placement.FirstLayerAttentionNorm)
        {
            attentionNorm = new Norm(name + ".attention_norm", spec.Hidden, spec.Norm, source);
            register_module("attention_norm", attentionNorm);
        }
        mlp = new Mlp(name + ".mlp", spec.Hidden, spec.Mlp, spec.Dropout, source);
        mlpNorm = new Norm(name + ".mlp_norm", spec.Hidden, spec.Norm, source);
        register_module("mlp", mlp);
        register_module("mlp_norm", mlpNorm);
    }

    public Tensor Forward(Tensor x, AttentionContext context)
    {
        using var scope = NewDisposeScope();
        Tensor result;
        // In inference, residual sums land in the sub-block's fresh output (a + x is x + a exactly), one temporary fewer each.
        if (preNorm)
        {
            Tensor afterAttention = InPlace.Add(attention.Forward(attentionNorm?.forward(x) ?? x, context), x);
            result = InPlace.Add(mlp.forward(mlpNorm.forward(afterAttention)), afterAttention);
        }
        else
        {
            Tensor afterAttention = attentionNorm!.forward(InPlace.Add(attention.Forward(x, context), x));
            result = mlpNorm.forward(InPlace.Add(mlp.forward(afterAttention), afterAttention));
        }
        return result.MoveToOuterDisposeScope();
    }
}
