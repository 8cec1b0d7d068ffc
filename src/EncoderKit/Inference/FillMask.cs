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
        Tokenizer tokenizer = CheckCanFill(topK);
        Encoding encoding = InputEncoding.Encode(model, log, text, null, overlong);
        if (!encoding.Ids.Contains(tokenizer.MaskTokenId!.Value))
            throw new EncoderKitException(ErrorKind.BadInput,
                encoding.Truncated ? $"no {tokenizer.MaskToken} left in the text after truncation to {encoding.Length} tokens" : $"the text has no {tokenizer.MaskToken} token to fill",
                field: "text");
        return (await PredictAsync([new TokenizedText(encoding.Ids, encoding.TypeIds)], topK, cancellationToken: cancellationToken).ConfigureAwait(false))[0];
    }

    /// <summary>
    /// As the text overload, on inputs already tokenized (special tokens included), run together in length-sorted
    /// batches on the runner; each input must hold at least one mask token.
    /// </summary>
    /// <returns>Per input, one candidate list per mask, in the order the masks appear.</returns>
    public async Task<IReadOnlyList<IReadOnlyList<FillMaskCandidate>>[]> PredictAsync(IReadOnlyList<TokenizedText> inputs, int topK = 5, BatchLimits? limits = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        Tokenizer tokenizer = CheckCanFill(topK);
        int maskId = tokenizer.MaskTokenId!.Value;
        int[][] maskPositions = [.. inputs.Select((input, i) =>
        {
            int[] positions = [.. Enumerable.Range(0, input.Ids.Length).Where(p => input.Ids[p] == maskId)];
            return positions.Length > 0 ? positions
                : throw new EncoderKitException(ErrorKind.BadInput, $"input {i} has no {tokenizer.MaskToken} token to fill", field: "text");
        })];
        TopK[] found = await (runner ?? BatchRunner.Shared).RunAsync(inputs, limits ?? new BatchLimits(), tokenizer.PadTokenId ?? 0,
            batch => Top(batch, maskPositions, topK), cancellationToken: cancellationToken).ConfigureAwait(false);
        return [.. found.Select((top, i) => Candidates(inputs[i].Ids, maskPositions[i], top))];
    }

    Tokenizer CheckCanFill(int topK)
    {
        PipelineModel.Head<MlmHeadSpec>(model, "masked-language-model head", "fill masks");
        if (topK < 1) throw new EncoderKitException(ErrorKind.BadInput, $"top-k must be at least 1, got {topK}", field: "top_k");
        Tokenizer tokenizer = model.Tokenizer;
        if (tokenizer.MaskTokenId is null) throw new EncoderKitException(ErrorKind.BadTokenizer, "the tokenizer has no mask token", model.Folder);
        return tokenizer;
    }

    /// <summary>Decodes each mask's candidates: the token alone, and the input with it in place of that mask.</summary>
    IReadOnlyList<IReadOnlyList<FillMaskCandidate>> Candidates(int[] ids, int[] maskPositions, TopK top)
    {
        Tokenizer tokenizer = model.Tokenizer;
        var (scores, tokens, k) = top;
        bool singleMask = maskPositions.Length == 1;
        var result = new List<IReadOnlyList<FillMaskCandidate>>(maskPositions.Length);
        for (int m = 0; m < maskPositions.Length; m++)
        {
            var candidates = new List<FillMaskCandidate>(k);
            for (int j = 0; j < k; j++)
            {
                int token = (int)tokens[m * k + j];
                int[] filled = (int[])ids.Clone();
                filled[maskPositions[m]] = token;
                candidates.Add(new FillMaskCandidate(scores[m * k + j], token, tokenizer.Decode([token], skipSpecialTokens: false),
                    tokenizer.Decode(filled, skipSpecialTokens: singleMask)));
            }
            result.Add(candidates);
        }
        return result;
    }

    /// <summary>For each row of the batch, the k most probable tokens at each of its masks, flattened [masks × k]; on the runner's thread.</summary>
    TopK[] Top(Batch batch, int[][] maskPositions, int topK)
    {
        EncoderOutputs outputs = PipelineModel.Forward(model, batch, Outputs.MlmLogits);
        var result = new TopK[batch.Count];
        for (int b = 0; b < batch.Count; b++)
        {
            int[] positions = maskPositions[batch.Rows[b]];
            Tensor probabilities = outputs.MlmLogits![b].index_select(0, tensor(positions.Select(p => (long)p).ToArray()).to(model.Device))
                .to_type(ScalarType.Float32).softmax(-1);                                               // [masks, V]
            var (values, indices) = probabilities.topk(Math.Min(topK, (int)probabilities.shape[1]), -1);
            result[b] = new TopK(values.cpu().data<float>().ToArray(), indices.cpu().data<long>().ToArray(), (int)values.shape[1]);
        }
        return result;
    }

    sealed record TopK(float[] Scores, long[] Tokens, int K);
}
