using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>The feed-forward block: act(x W1) W2, or for gated MLPs (SwiGLU, GeGLU) (act(x Wa) * x Wb) W2.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly MlpSpec spec;
    readonly double innerDropout, outputDropout;
    readonly Dense input, output;

    public Mlp(string name, int hidden, MlpSpec spec, DropoutSpec dropout, IParameterSource source) : base(name)
    {
        this.spec = spec;
        innerDropout = dropout.MlpInner;
        outputDropout = dropout.MlpOutput;
        input = new Dense(name + ".input", hidden, spec.Gated ? 2L * spec.Intermediate : spec.Intermediate, spec.InputBias, source);
        output = new Dense(name + ".output", spec.Intermediate, hidden, spec.OutputBias, source);
        register_module("input", input);
        register_module("output", output);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Tensor inner;
        // The widest tensor of the block (and every view of it) goes before the output projection allocates:
        // at 8192 tokens that is 0.1-0.3 GB.
        using (var wide = NewDisposeScope())
        {
            Tensor projected = input.forward(x);                                // [.., I] or gated [.., 2I]
            if (spec.Gated)
            {
                Tensor[] halves = projected.chunk(2, -1);
                inner = InPlace.Multiply(Activations.Apply(spec.Activation, halves[0]), halves[1]);
            }
            else
            {
                inner = Activations.Apply(spec.Activation, projected);
            }
            inner = Dropout.Apply(inner, innerDropout, training).MoveToOuterDisposeScope();
        }
        return Dropout.Apply(output.forward(inner), outputDropout, training).MoveToOuterDisposeScope();
    }
}
