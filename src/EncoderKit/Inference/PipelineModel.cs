using EncoderKit.Modeling;
using EncoderKit.Modeling.Heads;
using EncoderKit.Runtime;
using static TorchSharp.torch;

namespace EncoderKit.Inference;

/// <summary>What every pipeline asks of its model: the head it needs, the pad id, and a batch's forward pass and rows.</summary>
static class PipelineModel
{
    /// <summary>The checkpoint's head of type <typeparamref name="T"/>, or an error naming the head and the folder.</summary>
    /// <param name="head">The head's name for the message ("a token-classification head").</param>
    /// <param name="task">What it is needed for ("tag tokens").</param>
    public static T Head<T>(EncoderModel model, string head, string task) where T : HeadSpec =>
        model.Spec.Heads.Get<T>() ?? throw new EncoderKitException(ErrorKind.BadInput, $"the checkpoint has no {head}, so it cannot {task}", model.Folder);

    /// <summary>
    /// Loads <paramref name="model"/> (a folder or hub id) and builds a pipeline that owns it; the model is freed when
    /// the pipeline cannot be built on it (a missing head).
    /// </summary>
    public static async Task<T> LoadAsync<T>(string model, EncoderModelOptions? options, Func<EncoderModel, T> create, CancellationToken cancellationToken)
    {
        EncoderModel loaded = await EncoderModel.LoadAsync(model, options, cancellationToken).ConfigureAwait(false);
        try
        {
            return create(loaded);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    public static long PadId(EncoderModel model) => model.HasTokenizer ? model.Tokenizer.PadTokenId ?? 0 : 0;

    /// <summary>The model on one batch; the mask only when some row is padded.</summary>
    public static EncoderOutputs Forward(EncoderModel model, Batch batch, Outputs outputs) =>
        model.Forward(batch.InputIdsTensor(), batch.IsPadded ? batch.AttentionMaskTensor() : null, batch.TokenTypeIdsTensor(), outputs);

    /// <summary>Each row of a [B, K] tensor, as float32 on the CPU.</summary>
    public static float[][] Rows(Tensor values)
    {
        float[] flat = values.to_type(ScalarType.Float32).cpu().data<float>().ToArray();
        int width = (int)values.shape[1];
        return [.. flat.Chunk(width)];
    }

    /// <summary>Each row's values at its real positions of a [B, L] or [B, L, K] tensor, flattened, as float32 on the CPU.</summary>
    public static float[][] RealPositions(Tensor values, Batch batch)
    {
        float[] flat = values.to_type(ScalarType.Float32).cpu().data<float>().ToArray();
        int perPosition = values.dim() == 3 ? (int)values.shape[2] : 1, perRow = batch.Length * perPosition;
        return [.. Enumerable.Range(0, batch.Count).Select(r => flat[(r * perRow)..(r * perRow + batch.Lengths[r] * perPosition)])];
    }
}
