using EncoderKit.Inference;
using EncoderKit.Modeling;
using EncoderKit.Runtime;
using EncoderKit.SentenceEmbeddings;
using static TorchSharp.torch;

namespace EncoderKit.Server;

/// <summary>Sentence vectors, as <see cref="SentenceEncoder.EncodeTokensAsync"/> computes them.</summary>
/// <param name="PromptLength">Tokens pooling leaves out when the model excludes the prompt.</param>
/// <param name="Dimensions">Matryoshka width; null keeps the model's.</param>
public sealed record EmbedWork(SentenceEncoder Encoder, int PromptLength, int? Dimensions, bool Normalize) : BatchWork<float[]>
{
    internal override Task<float[][]> ComputeAsync(TokenizedText[] rows, int maxBatchTokens) =>
        Encoder.EncodeTokensAsync(rows, PromptLength,
            new EmbedOptions { TruncateDim = Dimensions, Normalize = Normalize, MaxBatchTokens = maxBatchTokens, BatchSize = rows.Length });
}

/// <summary>The encoder's last hidden state for each real token of each row: [tokens][hidden].</summary>
public sealed record TokenStatesWork(SentenceEncoder Encoder) : BatchWork<float[][]>
{
    internal override Task<float[][][]> ComputeAsync(TokenizedText[] rows, int maxBatchTokens) =>
        Encoder.Runner.RunAsync(rows, new BatchLimits(maxBatchTokens), Encoder.Tokenizer.PadTokenId ?? 0, TokenStates);

    /// <summary>On the runner's thread.</summary>
    float[][][] TokenStates(Batch batch)
    {
        Device device = Encoder.Model.Device;
        using EncoderOutputs outputs = Encoder.Model.Forward(batch.InputIdsTensor().to(device), batch.AttentionMaskTensor().to(device),
            batch.TokenTypeIdsTensor()?.to(device), Outputs.LastHiddenState);
        Tensor states = outputs.LastHiddenState.to(ScalarType.Float32).to(CPU).contiguous();   // [B, L, H]
        int length = (int)states.shape[1], hidden = (int)states.shape[2];
        float[] flat = states.data<float>().ToArray();
        var result = new float[batch.Count][][];
        for (int b = 0; b < batch.Count; b++)
        {
            result[b] = new float[batch.Lengths[b]][];
            for (int t = 0; t < batch.Lengths[b]; t++) result[b][t] = flat.AsSpan((b * length + t) * hidden, hidden).ToArray();
        }
        return result;
    }
}

/// <summary>Every label's score from the sequence-classification head, best first (TEI's /predict and /rerank).</summary>
public sealed record ScoresWork(TextClassifier Classifier, ClassificationFunction Function) : BatchWork<IReadOnlyList<LabelScore>>
{
    internal override Task<IReadOnlyList<LabelScore>[]> ComputeAsync(TokenizedText[] rows, int maxBatchTokens) =>
        Classifier.ClassifyAsync(rows, topK: null, Function, new BatchLimits(maxBatchTokens, rows.Length));
}

/// <summary>The most probable tokens at each mask of each row (the fill-mask pipeline).</summary>
public sealed record FillMaskWork(FillMask Pipeline, int TopK) : BatchWork<IReadOnlyList<IReadOnlyList<FillMaskCandidate>>>
{
    internal override Task<IReadOnlyList<IReadOnlyList<FillMaskCandidate>>[]> ComputeAsync(TokenizedText[] rows, int maxBatchTokens) =>
        Pipeline.PredictAsync(rows, TopK, new BatchLimits(maxBatchTokens, rows.Length));
}
