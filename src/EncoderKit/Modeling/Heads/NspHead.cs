using TorchSharp.Modules;
using static TorchSharp.torch;
using EncoderKit.Modeling.Blocks;

namespace EncoderKit.Modeling.Heads;

/// <summary>BERT's next-sentence-prediction head: a linear layer on the pooler output, [B, classes]. Needs the pooler head.</summary>
public sealed record NspHeadSpec(int Classes) : HeadSpec
{
    public override string Module => "nsp";
    public override string Output => "nsp_logits";
    public override Outputs Flag => Outputs.Nsp;
    public override IReadOnlyList<string> Reads => [PoolerSpec.OutputName];

    public override Head Build(EncoderSpec spec, Parameter wordEmbeddings, IParameterSource source) => new NspHead(Module, spec.Hidden, Classes, source);
}

public sealed class NspHead : Head
{
    readonly Dense output;

    public NspHead(string name, int hidden, int classes, IParameterSource source) : base(name)
    {
        output = new Dense(name + ".output", hidden, classes, hasBias: true, source);
        register_module("output", output);
    }

    public override Tensor Forward(HeadInputs inputs) => output.forward(inputs.Output(PoolerSpec.OutputName));
}
