using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;
using EncoderKit.Modeling;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Modeling;

/// <summary>
/// Unpadded execution (real tokens as one stream, attention per sequence) against padded execution of the same batch
/// of mixed lengths, for every fixture (every family and task head) and for small random models that reach what the
/// fixtures do not: sliding windows narrower than the sequences, NomicBERT's dynamic NTK base, token types, grouped
/// key/value heads. Tolerance 1e-4 absolute in fp32 at real positions, the parity tests' own: the two differ only in
/// how the matrix products block their sums (rows of other sequences are absent), while a position restarting in the
/// wrong place, a window crossing sequences or a key of another sequence moves outputs by 1e-2 or more.
/// </summary>
public sealed class UnpaddedExecutionTests
{
    const double Fp32Tolerance = 1e-4;

    public static TheoryData<string> Fixtures => new(ReferenceFixtures.All);

    static EncoderOutputs Run(EncoderModel model, Tensor ids, Tensor mask, Tensor? types, BatchExecution execution)
    {
        using var inference = inference_mode();
        return model.Network.Forward(ids, mask, types, Outputs.AllHeads | Outputs.HiddenStates, execution: execution);
    }

    static void AssertAgree(EncoderModel model, Tensor ids, Tensor mask, Tensor? types, Tensor? expected = null)
    {
        using var scope = NewDisposeScope();
        using EncoderOutputs padded = Run(model, ids, mask, types, BatchExecution.Padded);
        using EncoderOutputs unpadded = Run(model, ids, mask, types, BatchExecution.Unpadded);
        Tensor padding = mask.logical_not();
        Assert.True(padding.any().item<bool>(), "the batch must mix lengths");
        // Unpadded execution never computes a padding position: there the outputs are zeros, unlike padded execution's.
        Tensor atPadding = unpadded.LastHiddenState.masked_select(padding.unsqueeze(-1));
        Assert.Equal(0, atPadding.abs().max().item<float>());
        Assert.Equal(padded.HiddenStates.Count, unpadded.HiddenStates.Count);
        foreach (var ((name, a), (_, b)) in padded.Named().Zip(unpadded.Named()))
        {
            // Heads with one row per token compare at real positions; pooled heads whole. Larger values round more: 1e-4 of the largest.
            Tensor? real = ConformanceTests.PerToken(a, mask);
            double tolerance = Fp32Tolerance * Math.Max(1, a.abs().max().item<float>());
            TensorAssert.Close(b, a, tolerance, real, name);
        }
        if (expected is not null) TensorAssert.Close(unpadded.LastHiddenState, expected, Fp32Tolerance, mask, "last_hidden_state vs reference");
    }

    [Theory, MemberData(nameof(Fixtures))]
    public void UnpaddedMatchesPaddedOnEveryFixture(string name)
    {
        using var fixture = new Fixture(name);
        using var model = EncoderModel.Load(fixture.Folder);
        using var scope = NewDisposeScope();
        AssertAgree(model, fixture.InputIds, fixture.AttentionMask, fixture.TokenTypeIds, fixture.Expected("last_hidden_state"));
    }

    /// <summary>Each family's fixture config, changed where the fixture's inputs would not reach a feature.</summary>
    public static TheoryData<string, string> Variants => new()
    {
        { "bert", "token types on the second segment" },
        { "nomic_bert", "dynamic NTK: trained on 16 positions, batch padded to 40" },
        { "modernbert", "window of 8 tokens, narrower than most sequences" },
        { "llama_enc", "2 key/value heads for 4 query heads" },
        { "retrieva_bert", "1 key/value head for 4 query heads" },
    };

    [Theory, MemberData(nameof(Variants))]
    public void UnpaddedMatchesPaddedOnSmallRandomModels(string family, string variant)
    {
        string file = Path.Combine(ReferenceData.Model(family), "config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        if (family == "nomic_bert")
        {
            config["rotary_scaling_factor"] = 2.0;
            config["max_trained_positions"] = 16;
        }
        if (family == "modernbert") config["local_attention"] = 8;
        using var model = EncoderModel.CreateRandom(ConfigJson.Parse(config.ToJsonString(), $"{file} ({variant})"), seed: 3);
        using var scope = NewDisposeScope();
        long[] lengths = [40, 3, 17, 1, 29];
        const int length = 40;
        var generator = new Generator(7);
        Tensor ids = randint(5, 1000, [lengths.Length, length], dtype: ScalarType.Int64, generator: generator);
        Tensor positions = TensorRange.Arange(length, ScalarType.Int64, CPU).unsqueeze(0);
        Tensor mask = positions.lt(tensor(lengths).unsqueeze(1)).to_type(ScalarType.Int64);
        Tensor? types = model.Spec.Embeddings.TypeVocabSize > 1 ? positions.ge(tensor(lengths).unsqueeze(1) / 2).to_type(ScalarType.Int64) * mask : null;
        AssertAgree(model, ids, mask, types);
    }

    /// <summary>Unpadded execution leaves zeros at padding, padded execution does not: that tells which one Auto chose.</summary>
    [Theory]
    [InlineData(ComputeDtype.Float32)]
    [InlineData(ComputeDtype.BFloat16)]
    public void AutoUnpadsInferenceOnly(ComputeDtype dtype)
    {
        using var fixture = new Fixture("modernbert");
        using var model = EncoderModel.Load(fixture.Folder, new ComputeOptions { Dtype = dtype });
        using var scope = NewDisposeScope();
        Tensor mask = fixture.AttentionMask, padding = mask.logical_not().unsqueeze(-1);
        Assert.True(1 - mask.to_type(ScalarType.Float64).mean().item<double>() >= EncoderNetwork.PackFromPaddingShare);
        bool ZerosAtPadding(EncoderOutputs outputs) => outputs.LastHiddenState.masked_select(padding).abs().max().to_type(ScalarType.Float32).item<float>() == 0;
        using (var inference = inference_mode())
        using (EncoderOutputs auto = model.Network.Forward(fixture.InputIds, mask, null, Outputs.LastHiddenState))
            Assert.True(ZerosAtPadding(auto), $"{dtype} inference should run unpadded");
        using (EncoderOutputs training = model.Network.Forward(fixture.InputIds, mask, null, Outputs.LastHiddenState))
            Assert.False(ZerosAtPadding(training), "with gradients the batch should run padded");
        // In training mode without gradients (GradCache's first pass), bf16 stays padded so the second pass gives the same embeddings.
        model.Network.train();
        using (var noGradient = no_grad())
        using (EncoderOutputs firstPass = model.Network.Forward(fixture.InputIds, mask, null, Outputs.LastHiddenState))
            Assert.Equal(dtype == ComputeDtype.Float32, ZerosAtPadding(firstPass));
    }

    [Fact]
    public void LeftPaddingRunsPadded()
    {
        using var fixture = new Fixture("modernbert");
        using var model = EncoderModel.Load(fixture.Folder);
        using var scope = NewDisposeScope();
        Tensor mask = fixture.AttentionMask.flip(1), ids = fixture.InputIds.flip(1);
        using EncoderOutputs padded = Run(model, ids, mask, null, BatchExecution.Padded);
        using EncoderOutputs asked = Run(model, ids, mask, null, BatchExecution.Unpadded);
        // Positions inside a left-padded row are not its sequence positions: the batch runs as given, padding included.
        TensorAssert.Close(asked.LastHiddenState, padded.LastHiddenState, 0, what: "left-padded batch");
    }
}
