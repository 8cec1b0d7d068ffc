using EncoderKit.Modeling;
using TorchSharp;
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

    public static TheoryData<string> Fixtures => new(ReferenceFixtures.All);

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

    /// <summary>
    /// Every head output the fixture stores is computed and matches, at real positions where it has one row per token
    /// (token_logits, start_logits, end_logits); and every head output we compute is stored, except a pooler that
    /// only feeds a multiple-choice classifier (BertForMultipleChoice returns no pooler output).
    /// </summary>
    [Theory, MemberData(nameof(Fixtures))]
    public void HeadsMatchReference(string name)
    {
        using var fixture = new Fixture(name);
        using var model = EncoderModel.Load(fixture.Folder);
        using var scope = NewDisposeScope();
        using var outputs = Run(fixture, model);
        foreach (string head in HeadOutputs)
        {
            Tensor? output = outputs.Head(head);
            bool poolerOfChoices = head == "pooler_output" && outputs.ChoiceLogits is not null;
            Assert.True(fixture.HasExpected(head) ? output is not null : output is null || poolerOfChoices, $"{head}: computed {output is not null}, stored {fixture.HasExpected(head)}");
            if (output is not null && fixture.HasExpected(head)) TensorAssert.Close(output, fixture.Expected(head), Fp32Tolerance, PerToken(output, fixture.AttentionMask), head);
        }
        Assert.All(outputs.Heads, h => Assert.Contains(h.Name, HeadOutputs.Append("mlm_logits")));
    }

    /// <summary>The head outputs the reference fixtures store under these names (mlm_logits only as summaries).</summary>
    public static readonly string[] HeadOutputs = ["pooler_output", "nsp_logits", "classifier_logits", "token_logits", "start_logits", "end_logits", "choice_logits"];

    static readonly string[] TokenOutputs = ["mlm_logits", "token_logits", "start_logits", "end_logits"];

    /// <summary>The padding mask when <paramref name="output"/> has one row per token ([B, L, …]); else null, for pooled outputs.</summary>
    public static Tensor? PerToken(Tensor output, Tensor mask) =>
        output.dim() >= mask.dim() && output.shape.Take((int)mask.dim()).SequenceEqual(mask.shape) ? mask : null;

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
        using Scalar margin = (2 * Fp32Tolerance).ToScalar();
        Tensor decisive = (top2.select(-1, 0) - top2.select(-1, 1)).gt(margin).logical_and(mask.to_type(ScalarType.Bool));
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
        // Multiple-choice inputs [B, C, L] are B × C rows of [L].
        long fullLength = fixture.InputIds.shape[^1], hidden = model.Spec.Hidden;
        Tensor ids = fixture.InputIds.reshape(-1, fullLength), mask = fixture.AttentionMask.reshape(-1, fullLength);
        Tensor? types = fixture.TokenTypeIds?.reshape(-1, fullLength);
        Tensor batchRows = batch.LastHiddenState.reshape(-1, fullLength, hidden), expectedRows = fixture.Expected("last_hidden_state").reshape(-1, fullLength, hidden);
        for (long row = 0; row < ids.shape[0]; row++)
        {
            long length = mask[row].sum().item<long>();
            using var alone = model.Forward(ids[row].narrow(0, 0, length).unsqueeze(0), null,
                types?[row].narrow(0, 0, length).unsqueeze(0));
            // Same computation on fewer keys: only float reassociation separates them.
            TensorAssert.Close(alone.LastHiddenState[0], batchRows[row].narrow(0, 0, length), 1e-5, what: $"row {row}");
            TensorAssert.Close(alone.LastHiddenState[0], expectedRows[row].narrow(0, 0, length), Fp32Tolerance, what: $"row {row} vs reference");
            // Padding never changes a row's head outputs either (its own choice score, for multiple choice).
            foreach (var (head, value) in alone.Heads)
            {
                Tensor inBatch = batch.Head(head)!;
                Tensor batchRow = (ids.shape[0] == inBatch.shape[0] ? inBatch : inBatch.flatten(0, 1))[row];
                if (TokenOutputs.Contains(head)) batchRow = batchRow.narrow(0, 0, length);
                // Reassociation error grows with the values: 1e-5 of the largest (MLM logits reach ~10), at least 1e-5.
                double tolerance = 1e-5 * Math.Max(1, batchRow.abs().max().item<float>());
                TensorAssert.Close(value[0], batchRow, tolerance, what: $"{head} of row {row}");
            }
        }
    }
}
