using EncoderKit.Compute;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

/// <summary>Rotary position tables for one sequence length and base, and their application to queries and keys.</summary>
/// <remarks>
/// x·cos + turn(x)·sin, with turn(x) pairing each rotating dimension with its partner: (i, i + d/2) for rotate-half
/// (GPT-NeoX layout), (2i, 2i + 1) for interleaved (GPT-J layout), negated on the first of the pair. The partner
/// swap is one flip of a [.., 2, d/2] (or [.., d/2, 2]) view, and the sign lives in the stored sin table, so the
/// products and the sum are the reference's own (x·cos, (-x2)·sin = -(x2·sin), then their sum), rounded the same
/// way in fp32 and bf16, with two temporaries instead of five.
/// </remarks>
public sealed class Rotary : IDisposable
{
    readonly Tensor cos, signedSin;   // [L, 1, rotaryDim] in the compute dtype; signedSin negated where turn(x) negates
    readonly int rotaryDim;
    readonly bool interleaved;

    public Rotary(RopeSpec rope, double baseFrequency, int headDim, long length, ScalarType dtype, Device device)
    {
        rotaryDim = rope.RotaryDim(headDim);
        interleaved = rope.Interleaved;
        double effectiveBase = baseFrequency;
        if (rope.DynamicNtk is { } ntk && length > ntk.TrainedPositions)
        {
            // NomicBERT's dynamic NTK rule: the base grows with the (padded) input length once it passes the
            // trained length, so positions beyond it rotate no faster than trained ones did.
            effectiveBase = baseFrequency * Math.Pow(ntk.Factor * length / ntk.TrainedPositions - (ntk.Factor - 1), rotaryDim / (rotaryDim - 2.0));
        }
        using var scope = NewDisposeScope();
        // As the reference: inverse frequencies, angles and their cos/sin in float32, then the compute dtype.
        Tensor inverse = 1.0 / pow(effectiveBase, TensorRange.Arange(0, rotaryDim, ScalarType.Int64, device, step: 2).to_type(ScalarType.Float32) / rotaryDim);
        Tensor angles = outer(TensorRange.Arange(length, ScalarType.Int64, device).to_type(ScalarType.Float32), inverse);   // [L, rd/2]
        Tensor c = angles.cos(), s = angles.sin();
        Tensor fullCos = interleaved ? c.repeat_interleave(2, dim: -1) : cat([c, c], -1);                      // [L, rd]
        Tensor fullSin = interleaved ? stack([-s, s], -1).view(length, rotaryDim) : cat([-s, s], -1);
        cos = fullCos.to_type(dtype).view(length, 1, rotaryDim).MoveToOuterDisposeScope();
        signedSin = fullSin.to_type(dtype).view(length, 1, rotaryDim).MoveToOuterDisposeScope();
    }

    Rotary(Tensor cos, Tensor signedSin, int rotaryDim, bool interleaved)
    {
        this.cos = cos;
        this.signedSin = signedSin;
        this.rotaryDim = rotaryDim;
        this.interleaved = interleaved;
    }

    /// <summary>The tables' rows at <paramref name="positions"/> [T]: for a packed stream of tokens, each at its own position.</summary>
    public Rotary At(Tensor positions) =>
        new(cos.index_select(0, positions), signedSin.index_select(0, positions), rotaryDim, interleaved);

    /// <summary>Rotates the first rotaryDim dimensions of each head of <paramref name="x"/> [B, L, heads, headDim] (L: the tables' rows).</summary>
    public Tensor Apply(Tensor x)
    {
        using var scope = NewDisposeScope();
        long headDim = x.shape[^1];
        Tensor rotating = rotaryDim == headDim ? x : x.narrow(-1, 0, rotaryDim);
        long[] pairs = interleaved ? [.. x.shape[..^1], rotaryDim / 2, 2] : [.. x.shape[..^1], 2, rotaryDim / 2];
        Tensor partners = rotating.reshape(pairs).flip(-1 - (interleaved ? 0 : 1)).view(rotating.shape);   // x2, x1 (or odd, even)
        Tensor rotated = InPlace.Add(rotating * cos, InPlace.Multiply(partners, signedSin));
        Tensor result = rotaryDim == headDim ? rotated : cat([rotated, x.narrow(-1, rotaryDim, headDim - rotaryDim)], -1);
        return result.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        cos.Dispose();
        signedSin.Dispose();
    }
}
