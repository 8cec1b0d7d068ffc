using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>Dropout as the reference modules apply it: only in training mode, and a no-op at probability 0.</summary>
static class Dropout
{
    public static Tensor Apply(Tensor x, double p, bool training) =>
        training && p > 0 ? nn.functional.dropout(x, p, training: true) : x;
}
