using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// Every family's fixture run through our network against the outputs the reference Python code computed.
/// Tolerance 1e-4 absolute in fp32 at real (unpadded) positions: the reference's own eager-vs-sdpa and
/// save/reload spread is up to ~1.4e-5 (meta.json), and a wrong norm placement, rotary layout or mask moves
/// these outputs by 1e-2 or more, so the bound separates rounding from a real difference.
/// </summary>
public sealed class ConformanceTests
{
    const double Fp32Tolerance = 1e-4;

    public static TheoryData<string> Fixtures => new(ReferenceFixtures.Loadable);

    static EncoderOutputs Run(Fixture fixture, EncoderModel model) =>
        model.Forward(fixture.InputIds, fixture.AttentionMask, fixture.TokenTypeIds, Outputs.AllHeads | Outputs.HiddenStates);

    [Theory, MemberData(nameof(Fixtures))]
    public void HiddenStatesMatchReference(string name)
    {
        using var fixture = new Fixture(name);
        using var model = EncoderModel.Load(fixture.Folder);
        using var scope = NewDisposeScope();
        using var outputs = Run(fixture, model);
        Tensor mask = fixture.AttentionMask;
        TensorAssert.Close(outputs.LastHiddenState, fixture.Expected("last_hidden_state"), Fp32Tolerance, mask, "last_hidden_state");
        // Some task-head fixtures store only the last hidden state; every base fixture stores each layer's.
        Assert.True(!ReferenceFixtures.IsBase(name) || fixture.HasExpected("hidden_states.0"), "a base fixture without hidden states");
        for (int i = 0; i < outputs.HiddenStates.Count && fixture.HasExpected("hidden_states.0"); i++)
            TensorAssert.Close(outputs.HiddenStates[i], fixture.Expected($"hidden_states.{i}"), Fp32Tolerance, mask, $"hidden_states.{i}");
        Assert.False(fixture.HasExpected($"hidden_states.{outputs.HiddenStates.Count}"), "the reference has more layers than we ran");
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void HeadsMatchReference(string name)
    {
        using var fixture = new Fixture(name);
        using var model = EncoderModel.Load(fixture.Folder);
        using var scope = NewDisposeScope();
        using var outputs = Run(fixture, model);
        foreach (var (output, expectedName) in new[] { (outputs.PoolerOutput, "pooler_output"), (outputs.NspLogits, "nsp_logits"), (outputs.ClassifierLogits, "classifier_logits") })
        {
            Assert.Equal(fixture.HasExpected(expectedName), output is not null);
            if (output is not null) TensorAssert.Close(output, fixture.Expected(expectedName), Fp32Tolerance, what: expectedName);
        }
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void MlmLogitsMatchReference(string name)
    {
        using var fixture = new Fixture(name);
        using var model = EncoderModel.Load(fixture.Folder);
        using var scope = NewDisposeScope();
        using var outputs = Run(fixture, model);
        Assert.Equal(fixture.HasExpected("mlm_positions"), outputs.MlmLogits is not null);
        if (outputs.MlmLogits is null) return;
        Tensor logits = outputs.MlmLogits, mask = fixture.AttentionMask;
        // The fixture keeps full logits only at a few positions, and summaries (logsumexp, mean, argmax) everywhere.
        Tensor positions = fixture.Expected("mlm_positions");
        Tensor atPositions = logits.gather(1, positions.unsqueeze(-1).expand(-1, -1, logits.shape[2]));
        TensorAssert.Close(atPositions, fixture.Expected("mlm_logits_at_positions"), Fp32Tolerance, what: "mlm_logits_at_positions");
        TensorAssert.Close(logits.logsumexp(-1), fixture.Expected("mlm_logits_logsumexp"), Fp32Tolerance, mask, "logsumexp");
        TensorAssert.Close(logits.mean([-1L]), fixture.Expected("mlm_logits_mean"), Fp32Tolerance, mask, "mean");
        // Argmax may only differ where the two best logits are within the tolerance of each other.
        Tensor top2 = logits.topk(2, -1).values;
        Tensor decisive = (top2.select(-1, 0) - top2.select(-1, 1) > 2 * Fp32Tolerance).logical_and(mask.to_type(ScalarType.Bool));
        Tensor differs = logits.argmax(-1).ne(fixture.Expected("mlm_logits_argmax")).logical_and(decisive);
        Assert.Equal(0, differs.sum().item<long>());
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void EachRowAloneEqualsItsRowInThePaddedBatch(string name)
    {
        using var fixture = new Fixture(name);
        using var model = EncoderModel.Load(fixture.Folder);
        using var scope = NewDisposeScope();
        using var batch = Run(fixture, model);
        Tensor ids = fixture.InputIds, mask = fixture.AttentionMask;
        Tensor? types = fixture.TokenTypeIds;
        for (long row = 0; row < ids.shape[0]; row++)
        {
            long length = mask[row].sum().item<long>();
            using var alone = model.Forward(ids[row].narrow(0, 0, length).unsqueeze(0), null,
                types?[row].narrow(0, 0, length).unsqueeze(0));
            // Same computation on fewer keys: only float reassociation separates them.
            TensorAssert.Close(alone.LastHiddenState[0], batch.LastHiddenState[row].narrow(0, 0, length), 1e-5, what: $"row {row}");
            TensorAssert.Close(alone.LastHiddenState[0], fixture.Expected("last_hidden_state")[row].narrow(0, 0, length), Fp32Tolerance, what: $"row {row} vs reference");
        }
    }
}
