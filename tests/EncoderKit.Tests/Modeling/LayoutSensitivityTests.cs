using EncoderKit.IO;
using Xunit.Abstractions;
using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// The conformance tolerance (1e-4) only means something if getting a layout choice wrong would break it. Each
/// test here runs a fixture through a network whose spec (or weights) differ from the family's in exactly one
/// choice — sliding window, GQA grouping, rotary pairing, rotary base, norm placement — and shows the reference
/// then no longer matches, by far more than the tolerance. The unperturbed run through the same harness matches.
/// </summary>
public sealed class LayoutSensitivityTests(ITestOutputHelper log)
{
    const double Tolerance = 1e-4;

    void AssertBroken(double deviation, double factor)
    {
        log.WriteLine($"deviation from the reference: {deviation:E2}");
        Assert.True(deviation > factor * Tolerance, $"deviation {deviation:E2} is within {factor} × {Tolerance:E0}");
    }

    /// <summary>Max |last_hidden_state - expected| at real positions, for the fixture run with a changed spec and optionally edited weights.</summary>
    double Deviation(string fixtureName, Func<EncoderSpec, EncoderSpec> change, Action<IReadOnlyDictionary<string, Tensor>>? editWeights = null)
    {
        using var fixture = new Fixture(fixtureName);
        var builder = new NetworkBuilder(ConfigJson.Load(Path.Combine(fixture.Folder, "config.json"))) { ChangeSpec = change };
        using var weights = CheckpointWeights.Open(fixture.Folder);
        using var network = builder.FromCheckpoint(weights, ScalarType.Float32, CPU).Network;
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        editWeights?.Invoke(network.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter));
        using var outputs = network.Forward(fixture.InputIds, fixture.AttentionMask, fixture.TokenTypeIds, Outputs.LastHiddenState);
        return TensorAssert.MaxAbsDiff(outputs.LastHiddenState, fixture.Expected("last_hidden_state"), fixture.AttentionMask);
    }

    static EncoderSpec WithAttention(EncoderSpec s, Func<AttentionSpec, AttentionSpec> change) => s with { Attention = change(s.Attention) };
    static EncoderSpec WithRope(EncoderSpec s, Func<RopeSpec, RopeSpec> change) => s with { Rope = change(s.Rope!) };

    [Theory]
    [InlineData("nomic_bert"), InlineData("modernbert"), InlineData("llama_enc"), InlineData("retrieva_bert")]
    public void TheUnchangedSpecMatchesThroughTheSameHarness(string fixture)
    {
        double deviation = Deviation(fixture, s => s);
        log.WriteLine($"deviation from the reference: {deviation:E2}");
        Assert.InRange(deviation, 0, Tolerance);
    }

    [Fact]
    public void ModernBertFixtureIsLongerThanItsWindowAndEveryLayerGlobalBreaksIt()
    {
        using (var fixture = new Fixture("modernbert"))
        {
            long longest = fixture.AttentionMask.sum(1).max().item<long>();
            Assert.True(longest - 1 > 128 / 2, $"the longest row ({longest} tokens) must reach past the ±64 window");
        }
        AssertBroken(Deviation("modernbert", s => WithAttention(s, a => a with { LocalWindow = null })), 100);
    }

    [Theory]
    [InlineData(126)]   // |i - j| <= 63: one key too few each side
    [InlineData(130)]   // |i - j| <= 65: one key too many each side
    public void ModernBertWindowOffByOneBreaksIt(int window) =>
        AssertBroken(Deviation("modernbert", s => WithAttention(s, a => a with { LocalWindow = window })), 100);

    [Fact]
    public void ModernBertWithTheGlobalBaseOnLocalLayersBreaksIt() =>
        AssertBroken(Deviation("modernbert", s => WithRope(s, r => r with { LocalBase = r.Base })), 100);

    [Fact]
    public void ModernBertWithLocalLayersInOtherPlacesBreaksIt() =>
        AssertBroken(Deviation("modernbert", s => WithAttention(s, a => a with { GlobalEveryNLayers = 2 })), 100);

    [Theory]
    [InlineData("nomic_bert"), InlineData("modernbert"), InlineData("llama_enc"), InlineData("retrieva_bert")]
    public void TheOtherRotaryPairingBreaksIt(string fixture) =>
        AssertBroken(Deviation(fixture, s => WithRope(s, r => r with { Interleaved = !r.Interleaved })), 100);

    [Theory]
    [InlineData("nomic_bert")]      // post-norm run as pre-norm
    [InlineData("llama_enc")]       // pre-norm run as post-norm
    [InlineData("retrieva_bert")]
    public void TheOtherNormPlacementBreaksIt(string fixture) =>
        AssertBroken(Deviation(fixture, s => s with { Placement = s.Placement with { PreNorm = !s.Placement.PreNorm } }), 100);

    /// <remarks>
    /// llama_enc has 4 query heads over 2 key/value heads. The other plausible grouping, query head h reading
    /// key/value head h % 2 (interleaved) instead of h / 2 (contiguous, repeat_kv), is the contiguous code run with
    /// query heads 1 and 2 swapped (rows of q_proj, columns of o_proj): heads then read kv 0, 1, 0, 1.
    /// </remarks>
    [Fact]
    public void InterleavedKeyValueGroupingBreaksIt()
    {
        double deviation = Deviation("llama_enc", s => s, parameters =>
        {
            foreach (var (name, weight) in parameters)
            {
                if (name.EndsWith("attention.qkv.weight", StringComparison.Ordinal)) SwapBlocks(weight, dim: 0, blockSize: 6, 1, 2);
                if (name.EndsWith("attention.output.weight", StringComparison.Ordinal)) SwapBlocks(weight, dim: 1, blockSize: 6, 1, 2);
            }
        });
        AssertBroken(deviation, 100);
    }

    static void SwapBlocks(Tensor t, int dim, long blockSize, long a, long b)
    {
        using var first = t.narrow(dim, a * blockSize, blockSize).clone();
        using var second = t.narrow(dim, b * blockSize, blockSize);
        using var target = t.narrow(dim, a * blockSize, blockSize);
        using var other = t.narrow(dim, b * blockSize, blockSize);
        target.copy_(second);
        other.copy_(first);
    }
}
