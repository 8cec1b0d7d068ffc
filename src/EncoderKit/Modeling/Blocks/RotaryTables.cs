using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>The rotary tables of one forward pass: one for global layers and, where the base differs, one for local layers.</summary>
public sealed class RotaryTables : IDisposable
{
    readonly Rotary global;
    readonly Rotary? local;

    RotaryTables(Rotary global, Rotary? local)
    {
        this.global = global;
        this.local = local;
    }

    public Rotary For(bool globalLayer) => globalLayer ? global : local ?? global;

    /// <summary>The tables at <paramref name="positions"/> [T], for a packed stream (<see cref="PackedTokens.Columns"/>).</summary>
    public RotaryTables At(Tensor positions) => new(global.At(positions), local?.At(positions));

    public static RotaryTables? Build(EncoderSpec spec, long length, ScalarType dtype, Device device)
    {
        if (spec.Rope is not { } rope) return null;
        var global = new Rotary(rope, rope.Base, spec.Attention.HeadDim, length, dtype, device);
        Rotary? local = rope.LocalBase is { } localBase && localBase != rope.Base
            ? new Rotary(rope, localBase, spec.Attention.HeadDim, length, dtype, device)
            : null;
        return new RotaryTables(global, local);
    }

    public void Dispose()
    {
        global.Dispose();
        local?.Dispose();
    }
}
