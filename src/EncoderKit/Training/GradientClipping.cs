using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Training;

/// <summary>Clipping by global norm, as torch.nn.utils.clip_grad_norm_ computes it (L2, CPU path).</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales every gradient by min(1, max_norm / (total_norm + 1e-6)), where total_norm is the L2 norm of all the
    /// gradients together (the norm of the per-tensor norms), and returns total_norm as it was before clipping.
    /// Parameters without a gradient are skipped; with none at all the norm is 0.
    /// </summary>
    public static double ClipByGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        if (!(maxNorm > 0)) throw new EncoderKitException(ErrorKind.BadInput, $"max gradient norm {maxNorm} is not > 0", field: "max_grad_norm");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor[] grads = parameters.Select(p => p.grad).OfType<Tensor>().ToArray();
        if (grads.Length == 0) return 0;
        Tensor total = TotalNorm(grads);
        // PyTorch's `max_norm / tensor` is tensor.reciprocal() * max_norm; the same ops give the same float32 coefficient.
        using Scalar epsilon = 1e-6.ToScalar(), max = maxNorm.ToScalar(), one = 1.0.ToScalar();
        Tensor coefficient = total.add(epsilon, one).reciprocal_().mul_(max).clamp_max_(one);   // one: add's alpha, else another implicit Scalar
        foreach (Tensor grad in grads) grad.mul_(coefficient);
        return total.item<float>();
    }

    /// <summary>The global L2 norm of the gradients, without clipping.</summary>
    public static double GlobalNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor[] grads = parameters.Select(p => p.grad).OfType<Tensor>().ToArray();
        return grads.Length == 0 ? 0 : TotalNorm(grads).item<float>();
    }

    static Tensor TotalNorm(Tensor[] grads) => linalg.vector_norm(stack(grads.Select(g => linalg.vector_norm(g, 2)).ToArray()), 2);
}
