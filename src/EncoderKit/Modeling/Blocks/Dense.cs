using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>y = x Wᵀ + b, with W [out, in] as Hugging Face stores it.</summary>
public sealed class Dense : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly Parameter? bias;

    public Dense(string name, long inputs, long outputs, bool hasBias, IParameterSource source) : base(name)
    {
        weight = new Parameter(source.Take(name + ".weight", [outputs, inputs], Init.Normal));
        register_parameter("weight", weight);
        if (hasBias)
        {
            bias = new Parameter(source.Take(name + ".bias", [outputs], Init.Zeros));
            register_parameter("bias", bias);
        }
    }

    public Tensor Weight => weight;

    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight, bias);
}
