using EncoderKit.Compute;
using EncoderKit.Modeling;
using EncoderKit.Modeling.Blocks;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// NomicBERT's dynamic NTK rule, which no fixture exercises (nomic-bert-2048 has no rotary_scaling_factor):
/// beyond max_trained_positions the base becomes base × (factor × L / trained − (factor − 1))^(d / (d − 2)), with L
/// the padded length and d the rotary dimension (NomicBertDynamicNTKRotaryEmbedding); within it, nothing changes.
/// </summary>
public sealed class RotaryTests
{
    const int HeadDim = 8, Trained = 16;
    const double Base = 1000, Factor = 2;

    /// <summary>For a unit vector along dimension j &lt; d/2, rotate-half gives cos(p θ_j) at j and sin(p θ_j) at j + d/2.</summary>
    static (Tensor Cos, Tensor Sin) Tables(Rotary rotary, long length)
    {
        // Head j of every position holds the unit vector along dimension j: [1, L, d/2 heads, d].
        Tensor x = eye(HeadDim / 2, HeadDim).view(1, 1, HeadDim / 2, HeadDim).expand(1, length, HeadDim / 2, HeadDim).contiguous();
        Tensor rotated = rotary.Apply(x)[0];                                                   // [L, d/2, d]
        Tensor j = TensorRange.Arange(HeadDim / 2, ScalarType.Int64, CPU).view(1, -1, 1).expand(length, -1, 1);
        return (rotated.gather(2, j).squeeze(-1), rotated.gather(2, j + HeadDim / 2).squeeze(-1));   // [L, d/2] each
    }

    static Tensor Angles(double @base, long length) =>
        TensorRange.Arange(length, ScalarType.Float64, CPU).unsqueeze(1)
        * (1.0 / pow(@base, TensorRange.Arange(0, HeadDim, ScalarType.Float64, CPU, step: 2) / HeadDim)).unsqueeze(0);

    [Theory]
    [InlineData(12, false)]   // within the trained length: plain base
    [InlineData(16, false)]
    [InlineData(40, true)]    // beyond: NTK-scaled base
    public void BaseGrowsOnlyBeyondTheTrainedLength(long length, bool scaled)
    {
        using var scope = NewDisposeScope();
        var rope = new RopeSpec(Base, LocalBase: null, Fraction: 1.0, Interleaved: false, MaxPositions: null, new DynamicNtkSpec(Factor, Trained));
        using var rotary = new Rotary(rope, Base, HeadDim, length, ScalarType.Float32, CPU);
        double expectedBase = scaled ? Base * Math.Pow(Factor * length / Trained - (Factor - 1), HeadDim / (HeadDim - 2.0)) : Base;
        var (cos, sin) = Tables(rotary, length);
        TensorAssert.Close(cos, Angles(expectedBase, length).cos(), 2e-5, what: "cos");
        TensorAssert.Close(sin, Angles(expectedBase, length).sin(), 2e-5, what: "sin");
        if (scaled) Assert.True(TensorAssert.MaxAbsDiff(cos, Angles(Base, length).cos()) > 1e-2, "the scaled tables differ from the plain ones");
    }
}
