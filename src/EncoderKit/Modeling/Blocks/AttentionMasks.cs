using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>The boolean masks one forward pass needs: padding only (global layers) and padding within a sliding window (local layers).</summary>
public sealed class AttentionMasks : IDisposable
{
    AttentionMasks(Tensor? global, Tensor? local)
    {
        Global = global;
        Local = local;
    }

    /// <summary>[B, 1, 1, L], true at real keys; null when nothing is padded.</summary>
    public Tensor? Global { get; }

    /// <summary>[B, 1, L, L] (or [1, 1, L, L] unpadded), true where |i - j| &lt;= window / 2 and j is real; null when the window covers everything.</summary>
    public Tensor? Local { get; }

    public static AttentionMasks Build(AttentionSpec spec, Tensor? attentionMask, long length)
    {
        Tensor? global = null;
        if (attentionMask is not null && attentionMask.min().item<long>() == 0)
            global = attentionMask.to_type(ScalarType.Bool).view(attentionMask.shape[0], 1, 1, length);

        if (spec.LocalWindow is not { } window || length - 1 <= window / 2)
            return new AttentionMasks(global, global);

        using var scope = NewDisposeScope();
        Device device = attentionMask?.device ?? CPU;
        Tensor positions = arange(length, ScalarType.Int64, device);
        Tensor band = (positions.unsqueeze(0) - positions.unsqueeze(1)).abs() <= window / 2;   // [L, L]
        Tensor local = band.view(1, 1, length, length);
        if (global is not null)
        {
            // A padded query far from every real token would see no key at all and its softmax would be NaN,
            // which then leaks into real tokens through 0 × NaN in the next layer: let every query see itself.
            local = (local & global) | eye(length, dtype: ScalarType.Bool, device: device).view(1, 1, length, length);
        }
        return new AttentionMasks(global, local.MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        if (!ReferenceEquals(Local, Global)) Local?.Dispose();
        Global?.Dispose();
    }
}
