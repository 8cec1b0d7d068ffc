using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>
/// Arithmetic that writes into its left operand when no autograd graph is recorded, saving a temporary of the
/// operand's size (the widest tensors of a block at long inputs). Under grad mode it allocates instead: autograd may
/// have saved the operand for backward (sigmoid saves its output, which a gate then multiplies), and libtorch
/// refuses to differentiate through a saved tensor that was overwritten.
/// </summary>
static class InPlace
{
    public static Tensor Add(Tensor into, Tensor other) => is_grad_enabled() ? into + other : into.add_(other);

    public static Tensor Multiply(Tensor into, Tensor other) => is_grad_enabled() ? into * other : into.mul_(other);
}
