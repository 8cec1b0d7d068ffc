using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Compute;

/// <summary>torch.arange with its bounds' Scalars disposed after the call (build/BannedSymbols.txt says why).</summary>
static class TensorRange
{
    /// <summary>[start, stop) in steps of <paramref name="step"/>.</summary>
    public static Tensor Arange(long start, long stop, ScalarType dtype, Device device, long step = 1)
    {
        using Scalar first = start.ToScalar(), end = stop.ToScalar(), stride = step.ToScalar();
        return arange(first, end, stride, dtype, device);
    }

    /// <summary>[0, stop).</summary>
    public static Tensor Arange(long stop, ScalarType dtype, Device device) => Arange(0, stop, dtype, device);
}
