using TorchSharp.Modules;
using static TorchSharp.torch;
using EncoderKit.Modeling.Blocks;

namespace EncoderKit.Modeling.Heads;

/// <summary>BERT's pooler: tanh(dense(first token's hidden state)), [B, H].</summary>
public sealed record PoolerSpec : HeadSpec
{
    public const string OutputName = "pooler_output";

    public override string Module => "pooler";
    public override string Output => OutputName;
    public override Outputs Flag => Outputs.Pooler;

    public override Head Build(EncoderSpec spec, Parameter wordEmbeddings, IParameterSource source) => new PoolerHead(Module, spec.Hidden, source);
}

public sealed class PoolerHead : Head
{
    readonly Dense dense;

    public PoolerHead(string name, int hidden, IParameterSource source) : base(name)
    {
        dense = new Dense(name + ".dense", hidden, hidden, hasBias: true, source);
        register_module("dense", dense);
    }

    public override Tensor Forward(HeadInputs inputs)
    {
        using var scope = NewDisposeScope();
        return dense.forward(inputs.LastHiddenState.select(1, 0)).tanh().MoveToOuterDisposeScope();
    }
}
