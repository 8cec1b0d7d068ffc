using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Heads;

public enum ClassifierPooling { Cls, Mean, Pooler }

/// <summary>Sequence classification: pooled vector, optional transform, dropout, then a linear layer to the labels.</summary>
/// <param name="Pooling">Pooler: the pooler head's output (listed before this head); Cls / Mean: pooled last hidden state.</param>
/// <param name="Transform">Between pooling and the output: ModernBERT's dense / activation / norm, or RoBERTa's dense / tanh; null for BERT.</param>
/// <param name="Problem">config.json's problem_type; null when unset (transformers then decides from the labels it is given).</param>
public sealed record ClassifierSpec(int Labels, ClassifierPooling Pooling, HeadTransformSpec? Transform, bool Bias, IReadOnlyList<string> LabelNames, ProblemType? Problem = null) : HeadSpec
{
    public override string Module => "classifier";
    public override string Output => "classifier_logits";
    public override Outputs Flag => Outputs.Classifier;
    public override IReadOnlyList<string> Reads => Pooling == ClassifierPooling.Pooler ? [PoolerSpec.OutputName] : [];

    public override Head Build(EncoderSpec spec, Parameter wordEmbeddings, IParameterSource source) =>
        new ClassifierHead(Module, spec.Hidden, Pooling, Transform, Labels, Bias, spec.Dropout.Classifier, source);
}

/// <summary>[B, labels] logits from the pooled sequence (sequence classification; multiple choice with one label).</summary>
public sealed class ClassifierHead(string name, int hidden, ClassifierPooling pooling, HeadTransformSpec? transform, int labels, bool bias, double dropout, IParameterSource source)
    : ProjectionHead(name, hidden, transform, labels, bias, dropout, source)
{
    public override Tensor Forward(HeadInputs inputs)
    {
        using var scope = NewDisposeScope();
        Tensor pooled = pooling switch
        {
            ClassifierPooling.Pooler => inputs.Output(PoolerSpec.OutputName),
            ClassifierPooling.Cls => inputs.LastHiddenState.select(1, 0),
            _ => EncoderNetwork.MeanPool(inputs.LastHiddenState, inputs.AttentionMask),
        };
        return Project(pooled).MoveToOuterDisposeScope();
    }
}
