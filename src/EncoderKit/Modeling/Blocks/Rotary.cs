using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>Rotary position tables for one sequence length and base, and their application to queries and keys.</summary>
public sealed class Rotary : IDisposable
{
    readonly Tensor cos, sin;   // [L, rotaryDim], in the compute dtype
    readonly int rotaryDim;
    readonly bool interleaved;

    public Rotary(RopeSpec rope, double baseFrequency, int headDim, long length, ScalarType dtype, Device device)
    {
        rotaryDim = rope.RotaryDim(headDim);
        interleaved = rope.Interleaved;
        double effectiveBase = baseFrequency;
        if (rope.DynamicNtkFactor is { } factor && rope.MaxPositions is { } trained && length > trained)
        {
            // NomicBERT's dynamic NTK rule: the base grows with the (padded) input length once it passes the
            // trained length, so positions beyond it rotate no faster than trained ones did.
            effectiveBase = baseFrequency * Math.Pow(factor * length / trained - (factor - 1), rotaryDim / (rotaryDim - 2.0));
        }
        using var scope = NewDisposeScope();
        // As the reference: inverse frequencies, angles and their cos/sin in float32, then the compute dtype.
        Tensor inverse = 1.0 / pow(effectiveBase, arange(0, rotaryDim, 2, ScalarType.Int64, device).to_type(ScalarType.Float32) / rotaryDim);
        Tensor angles = outer(arange(length, ScalarType.Int64, device).to_type(ScalarType.Float32), inverse);   // [L, rd/2]
        Tensor full = interleaved ? angles.repeat_interleave(2, dim: -1) : cat([angles, angles], -1);          // [L, rd]
        cos = full.cos().to_type(dtype).MoveToOuterDisposeScope();
        sin = full.sin().to_type(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Rotates the first rotaryDim dimensions of each head of <paramref name="x"/> [B, heads, L, headDim].</summary>
    public Tensor Apply(Tensor x)
    {
        using var scope = NewDisposeScope();
        long headDim = x.shape[^1];
        Tensor rotating = rotaryDim == headDim ? x : x.narrow(-1, 0, rotaryDim);
        Tensor rotated = rotating * cos + Turn(rotating) * sin;
        Tensor result = rotaryDim == headDim ? rotated : cat([rotated, x.narrow(-1, rotaryDim, headDim - rotaryDim)], -1);
        return result.MoveToOuterDisposeScope();
    }

    // The partner of each dimension, negated where the rotation needs it: (-x2, x1) per pair.
    Tensor Turn(Tensor x)
    {
        if (!interleaved)
        {
            Tensor[] halves = x.chunk(2, -1);
            return cat([-halves[1], halves[0]], -1);
        }
        long[] pairs = [.. x.shape[..^1], rotaryDim / 2, 2];
        Tensor paired = x.reshape(pairs);
        Tensor even = paired.select(-1, 0), odd = paired.select(-1, 1);
        return stack([-odd, even], -1).reshape(x.shape);
    }

    public void Dispose()
    {
        cos.Dispose();
        sin.Dispose();
    }
}
