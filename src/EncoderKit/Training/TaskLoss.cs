using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Training;

/// <summary>
/// The loss each transformers task class computes from its head's output and the `labels` its forward takes, so
/// training and gradient checks optimise exactly what the reference classes do. Label tensors are named as
/// transformers names the forward arguments: `labels`, `start_positions`/`end_positions`, `next_sentence_label`.
/// Logits of a bf16 forward pass are scored in float32, as autocast runs these losses.
/// </summary>
public static class TaskLoss
{
    /// <summary>The label value cross-entropy skips, as PyTorch's default ignore_index and transformers' collators use.</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// The loss of the checkpoint's task head, chosen as its transformers class chooses: a task head (classifier,
    /// token classifier, QA, multiple choice) before the pretraining heads; with an MLM head, the MLM loss plus the NSP
    /// loss when the model has an NSP head and `next_sentence_label` is given (BertForPreTraining's total loss).
    /// </summary>
    /// <exception cref="EncoderKitException">A label tensor the head needs is absent, or the model has no head that takes labels.</exception>
    public static Tensor For(HeadsSpec heads, EncoderOutputs outputs, IReadOnlyDictionary<string, Tensor> labels)
    {
        Tensor Label(string name) => labels.TryGetValue(name, out Tensor? value) ? value
            : throw new EncoderKitException(ErrorKind.BadInput, $"the model's head needs '{name}' (labels: {string.Join(", ", labels.Keys.DefaultIfEmpty("none"))})", field: name);
        Tensor Output(Tensor? output, string head) => output
            ?? throw new EncoderKitException(ErrorKind.BadInput, $"the forward pass did not compute '{head}'; ask for that head's output", field: head);

        if (heads.Get<ClassifierSpec>() is { } classifier)
            return SequenceClassification(Output(outputs.ClassifierLogits, "classifier_logits"), Label("labels"), classifier.Problem);
        if (heads.Get<TokenClassifierSpec>() is not null)
            return TokenClassification(Output(outputs.TokenLogits, "token_logits"), Label("labels"));
        if (heads.Get<QuestionAnsweringSpec>() is not null)
            return QuestionAnswering(Output(outputs.StartLogits, "start_logits"), Output(outputs.EndLogits, "end_logits"), Label("start_positions"), Label("end_positions"));
        if (heads.Get<MultipleChoiceSpec>() is not null)
            return MultipleChoice(Output(outputs.ChoiceLogits, "choice_logits"), Label("labels"));
        if (heads.Mlm is not null)
        {
            Tensor loss = MaskedLm(Output(outputs.MlmLogits, "mlm_logits"), Label("labels"));
            return heads.Get<NspHeadSpec>() is not null && labels.TryGetValue("next_sentence_label", out Tensor? next)
                ? loss + NextSentence(Output(outputs.NspLogits, "nsp_logits"), next)
                : loss;
        }
        throw new EncoderKitException(ErrorKind.BadInput, $"the model has no head that takes labels ({heads})");
    }

    /// <summary>Cross-entropy over the positions whose label is not -100: [B, L, V] logits, [B, L] labels.</summary>
    public static Tensor MaskedLm(Tensor logits, Tensor labels) => PerTokenCrossEntropy(logits, labels);

    /// <summary>Cross-entropy over [B, 2] logits against [B] labels (0: B follows A).</summary>
    public static Tensor NextSentence(Tensor logits, Tensor labels) => nn.functional.cross_entropy(Float32(logits).view(-1, 2), labels.view(-1));

    /// <summary>Cross-entropy over the tagged positions (-100 elsewhere): [B, L, labels] logits, [B, L] tags.</summary>
    public static Tensor TokenClassification(Tensor logits, Tensor labels) => PerTokenCrossEntropy(logits, labels);

    /// <summary>
    /// The loss of the problem type; where the config names none, transformers' rule: one label is regression,
    /// integer labels single-label classification, anything else multi-label.
    /// </summary>
    public static Tensor SequenceClassification(Tensor logits, Tensor labels, ProblemType? problem)
    {
        logits = Float32(logits);
        long count = logits.shape[^1];
        problem ??= count == 1 ? ProblemType.Regression
            : labels.dtype is ScalarType.Int64 or ScalarType.Int32 ? ProblemType.SingleLabel
            : ProblemType.MultiLabel;
        return problem switch
        {
            // MSELoss on squeezed tensors, so one-label [B, 1] logits meet [B] targets.
            ProblemType.Regression when count == 1 => nn.functional.mse_loss(logits.squeeze(), labels.to_type(logits.dtype).squeeze()),
            ProblemType.Regression => nn.functional.mse_loss(logits, labels.to_type(logits.dtype)),
            ProblemType.SingleLabel => nn.functional.cross_entropy(logits.view(-1, count), labels.view(-1)),
            _ => nn.functional.binary_cross_entropy_with_logits(logits, labels.to_type(logits.dtype)),
        };
    }

    /// <summary>
    /// (CE(start) + CE(end)) / 2 over [B, L] logits, with positions outside the sequence clamped to L and ignored, as
    /// the *ForQuestionAnswering classes do.
    /// </summary>
    public static Tensor QuestionAnswering(Tensor startLogits, Tensor endLogits, Tensor startPositions, Tensor endPositions)
    {
        long length = startLogits.shape[1];
        Tensor SpanLoss(Tensor logits, Tensor positions)
        {
            // Positions outside the window (or past the end) are clamped to `length`, which the loss ignores.
            using Scalar first = 0L.ToScalar(), ignored = length.ToScalar();
            return nn.functional.cross_entropy(Float32(logits), positions.view(-1).clamp(first, ignored), ignore_index: length);
        }
        return (SpanLoss(startLogits, startPositions) + SpanLoss(endLogits, endPositions)) / 2;
    }

    /// <summary>Cross-entropy over the choices: [B, C] logits, [B] choice ids.</summary>
    public static Tensor MultipleChoice(Tensor logits, Tensor labels) => nn.functional.cross_entropy(Float32(logits), labels.view(-1));

    static Tensor PerTokenCrossEntropy(Tensor logits, Tensor labels) =>
        nn.functional.cross_entropy(Float32(logits).reshape(-1, logits.shape[^1]), labels.reshape(-1), ignore_index: IgnoreIndex);

    static Tensor Float32(Tensor logits) => logits.dtype == ScalarType.Float32 ? logits : logits.to_type(ScalarType.Float32);
}
