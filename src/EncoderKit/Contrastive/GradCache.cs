using EncoderKit.Runtime;
using static TorchSharp.torch;

namespace EncoderKit.Contrastive;

/// <summary>
/// Gradient caching (Gao et al., "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup", 2021), as
/// sentence-transformers' Cached* losses run it: every mini-batch is embedded without a graph; the loss over the whole
/// batch gives the gradient of each embedding; then each mini-batch is embedded again with a graph and back-propagated
/// with its embeddings' gradient. Peak memory is one mini-batch's activations plus the batch's embeddings, and the
/// parameter gradients are those of the whole batch at once.
/// </summary>
public static class GradCache
{
    /// <summary>
    /// Back-propagates <paramref name="loss"/> over the embeddings of <paramref name="columns"/> (each column's rows split
    /// into mini-batches, in order) into the parameters <paramref name="embed"/> uses, divided by <paramref name="divisor"/>
    /// (gradient accumulation), and returns the loss's value. Each mini-batch's second pass starts from the random state
    /// its first pass started from, so dropout draws the same masks in both.
    /// </summary>
    /// <param name="embed">[rows, D] embeddings of one mini-batch, differentiable in the model's parameters.</param>
    /// <typeparam name="TMiniBatch">What <paramref name="embed"/> takes: a <see cref="Batch"/>, or one with what else its column needs (a prompt length).</typeparam>
    public static double Backward<TMiniBatch>(IReadOnlyList<IReadOnlyList<TMiniBatch>> columns, Func<TMiniBatch, Tensor> embed, Func<IReadOnlyList<Tensor>, Tensor> loss, int divisor = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(divisor, 1);
        var randomStates = new List<Tensor>();
        var cached = new Tensor[columns.Count];
        try
        {
            using (no_grad())
                for (int c = 0; c < columns.Count; c++)
                {
                    var parts = new List<Tensor>();
                    foreach (TMiniBatch miniBatch in columns[c])
                    {
                        randomStates.Add(get_rng_state());
                        parts.Add(embed(miniBatch).detach());
                    }
                    using (var joined = cat(parts.ToArray(), 0)) cached[c] = joined.detach().requires_grad_(true);
                    foreach (Tensor part in parts) part.Dispose();
                }
            double value;
            using (var scope = NewDisposeScope())
            using (enable_grad())
            {
                Tensor total = loss(cached);
                value = total.to_type(ScalarType.Float32).item<float>();
                (total / divisor).backward();
            }
            int state = 0;
            for (int c = 0; c < columns.Count; c++)
            {
                using Tensor gradient = cached[c].grad!;
                long row = 0;
                foreach (TMiniBatch miniBatch in columns[c])
                {
                    using var scope = NewDisposeScope();
                    set_rng_state(randomStates[state++]);
                    using (enable_grad())
                    {
                        Tensor embeddings = embed(miniBatch);
                        (embeddings * gradient.narrow(0, row, embeddings.shape[0])).sum().backward();
                        row += embeddings.shape[0];
                    }
                }
            }
            return value;
        }
        finally
        {
            foreach (Tensor t in randomStates) t.Dispose();
            foreach (Tensor? t in cached) t?.Dispose();
        }
    }
}
