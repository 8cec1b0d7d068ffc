using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>The feed-forward block: act(x W1) W2, or for gated MLPs (SwiGLU, GeGLU) (act(x Wa) * x Wb) W2.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly MlpSpec spec;
    readonly Dense input, output;

    public Mlp(string name, int hidden, MlpSpec spec, IParameterSource source) : base(name)
    {
        this.spec = spec;
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
                inner = Activations.Apply(spec.Activation, halves[0]).mul_(halves[1]);
            }
            else
            {
                inner = Activations.Apply(spec.Activation, projected);
            }
            inner.MoveToOuterDisposeScope();
        }
        return output.forward(inner).MoveToOuterDisposeScope();
    }
}
