using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using EncoderKit.Runtime;
using EncoderKit.Tokenization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static TorchSharp.torch;

namespace EncoderKit.Inference;

/// <param name="Score">Softmax probability of the token at this mask.</param>
/// <param name="Token">Token id.</param>
/// <param name="TokenStr">The token decoded alone.</param>
/// <param name="Sequence">The input with this mask filled, decoded.</param>
public sealed record FillMaskCandidate(double Score, int Token, string TokenStr, string Sequence);

/// <summary>What to do with a text longer than the model takes.</summary>
public enum OverlongInput { Truncate, Error }

/// <summary>
/// Fill-mask as the Hugging Face `fill-mask` pipeline answers it: for each mask token in the text, the top-k
/// vocabulary entries by softmax probability, each with its decoded token and the decoded filled sequence
/// (special tokens dropped when there is one mask; kept when there are several, so the other masks stay visible).
/// </summary>
/// <param name="runner">Where the forward pass runs; <see cref="BatchRunner.Shared"/> when null.</param>
public sealed class FillMask(EncoderModel model, ILogger? logger = null, BatchRunner? runner = null)
{
    readonly ILogger log = logger ?? NullLogger.Instance;

    /// <returns>One candidate list per mask, in the order the masks appear.</returns>
    public IReadOnlyList<IReadOnlyList<FillMaskCandidate>> Predict(string text, int topK = 5, OverlongInput overlong = OverlongInput.Truncate) =>
        PredictAsync(text, topK, overlong).GetAwaiter().GetResult();

    /// <summary>As <see cref="Predict"/>: tokenizing and decoding on the caller's thread, the forward pass on the runner.</summary>
    public async Task<IReadOnlyList<IReadOnlyList<FillMaskCandidate>>> PredictAsync(string text, int topK = 5, OverlongInput overlong = OverlongInput.Truncate,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        PipelineModel.Head<MlmHeadSpec>(model, "masked-language-model head", "fill masks");
        if (topK < 1) throw new EncoderKitException(ErrorKind.BadInput, $"top-k must be at least 1, got {topK}", field: "top_k");
        Tokenizer tokenizer = model.Tokenizer;
        int maskId = tokenizer.MaskTokenId
            ?? throw new EncoderKitException(ErrorKind.BadTokenizer, "the tokenizer has no mask token", model.Folder);

        Encoding encoding = InputEncoding.Encode(model, log, text, null, overlong);
        int[] maskPositions = [.. Enumerable.Range(0, encoding.Length).Where(i => encoding.Ids[i] == maskId)];
        if (maskPositions.Length == 0)
            throw new EncoderKitException(ErrorKind.BadInput,
                encoding.Truncated ? $"no {tokenizer.MaskToken} left in the text after truncation to {encoding.Length} tokens" : $"the text has no {tokenizer.MaskToken} token to fill",
                field: "text");

        TopK[] found = await (runner ?? BatchRunner.Shared).RunAsync<TopK>([new TokenizedText(encoding.Ids, encoding.TypeIds)], new BatchLimits(), tokenizer.PadTokenId ?? 0,
            batch => [Top(batch, maskPositions, topK)], cancellationToken: cancellationToken).ConfigureAwait(false);
        var (scores, tokens, k) = found[0];

        bool singleMask = maskPositions.Length == 1;
        var result = new List<IReadOnlyList<FillMaskCandidate>>(maskPositions.Length);
        for (int m = 0; m < maskPositions.Length; m++)
        {
            var candidates = new List<FillMaskCandidate>(k);
            for (int j = 0; j < k; j++)
            {
                int token = (int)tokens[m * k + j];
                int[] filled = (int[])encoding.Ids.Clone();
                filled[maskPositions[m]] = token;
                candidates.Add(new FillMaskCandidate(scores[m * k + j], token, tokenizer.Decode([token], skipSpecialTokens: false),
                    tokenizer.Decode(filled, skipSpecialTokens: singleMask)));
            }
            result.Add(candidates);
        }
        return result;
    }

    /// <summary>The k most probable tokens at each mask, flattened [masks × k]: one row, on the runner's thread.</summary>
    TopK Top(Batch batch, int[] maskPositions, int topK)
    {
        EncoderOutputs outputs = PipelineModel.Forward(model, batch, Outputs.MlmLogits);
        Tensor probabilities = outputs.MlmLogits![0].index_select(0, tensor(maskPositions.Select(p => (long)p).ToArray()).to(model.Device))
            .to_type(ScalarType.Float32).softmax(-1);                                                   // [masks, V]
        var (values, indices) = probabilities.topk(Math.Min(topK, (int)probabilities.shape[1]), -1);
        return new TopK(values.cpu().data<float>().ToArray(), indices.cpu().data<long>().ToArray(), (int)values.shape[1]);
    }

    sealed record TopK(float[] Scores, long[] Tokens, int K);
}
