using System.Text.Json.Nodes;
using EncoderKit.Training;
using Parameter = TorchSharp.Modules.Parameter;
using AdamW = EncoderKit.Training.AdamW;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Training;

/// <summary>
/// AdamW against torch.optim.AdamW's recorded run (optim_schedules.json `adamw`: lr 1e-3, betas (0.9, 0.999), eps 1e-8,
/// weight decay 0.01, one float32 [3, 4] parameter, 20 steps with gradients of scale 1, 0.1, 3 and 1e-3). Tolerance: none,
/// the float32 parameters and state must be the same bits, since the same ops run in the same order in libtorch.
/// </summary>
public sealed class AdamWTests
{
    static readonly JsonObject Reference = TrainingReference.Root["adamw"]!.AsObject();

    static (Parameter Parameter, AdamW Optimizer) Start()
    {
        var parameter = new Parameter(TrainingReference.Float32(Reference["initial"]!));
        var optimizer = new AdamW([new ParameterGroup([("p", parameter)], WeightDecay: 0.01)], learningRate: 1e-3);
        return (parameter, optimizer);
    }

    static void Run(Parameter parameter, Action step, int from, int to)
    {
        JsonArray grads = Reference["grads"]!.AsArray();
        for (int i = from; i < to; i++)
        {
            parameter.grad = TrainingReference.Float32(grads[i]!);
            step();
        }
    }

    static void AssertBitsEqual(Tensor expected, Tensor actual, string what)
    {
        float[] e = expected.data<float>().ToArray(), a = actual.detach().data<float>().ToArray();
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(e[i]) == BitConverter.SingleToInt32Bits(a[i]), $"{what}[{i}]: {a[i]:R}, PyTorch {e[i]:R}");
    }

    [Fact]
    public void TwentyStepsGiveTorchsFloat32ParametersBitForBit()
    {
        var (parameter, optimizer) = Start();
        using (optimizer)
        using (parameter)
        {
            JsonArray after = Reference["params_after_step"]!.AsArray();
            for (int i = 0; i < after.Count; i++)
            {
                Run(parameter, optimizer.Step, i, i + 1);
                AssertBitsEqual(TrainingReference.Float32(after[i]!), parameter, $"step {i + 1}");
            }
            Dictionary<string, Tensor> state = optimizer.StateDict();
            JsonObject final = Reference["final_state"]!.AsObject();
            AssertBitsEqual(TrainingReference.Float32(final["exp_avg"]!), state["exp_avg.p"], "exp_avg");
            AssertBitsEqual(TrainingReference.Float32(final["exp_avg_sq"]!), state["exp_avg_sq.p"], "exp_avg_sq");
            Assert.Equal((long)final["step"]!.GetValue<double>(), state["step.p"].item<long>());
        }
    }

    [Fact]
    public void TorchSharpsOwnAdamWKeepsAnotherFirstMoment()
    {
        // Why AdamW is written out: TorchSharp's optimizer matches the 20 recorded parameters but not PyTorch's exp_avg
        // bits. If this starts failing, TorchSharp has caught up and AdamW could wrap it instead.
        using var parameter = new Parameter(TrainingReference.Float32(Reference["initial"]!));
        using var optimizer = TorchSharp.torch.optim.AdamW([parameter], lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01);
        Run(parameter, () => optimizer.step(), 0, 20);
        var state = (TorchSharp.Modules.AdamW.State)optimizer.state_dict().State[0];
        Assert.False(TrainingReference.Float32(Reference["final_state"]!["exp_avg"]!).eq(state.exp_avg).all().item<bool>());
    }

    [Fact]
    public void ResumingFromTheStateDictRepeatsTheRunBitForBit()
    {
        var (parameter, optimizer) = Start();
        using (parameter)
        using (optimizer)
        {
            Run(parameter, optimizer.Step, 0, 7);
            Dictionary<string, Tensor> saved = optimizer.StateDict();
            using Tensor savedParameter = parameter.detach().clone();
            Run(parameter, optimizer.Step, 7, 20);

            var (resumed, fresh) = Start();
            using (resumed)
            using (fresh)
            {
                using (no_grad()) resumed.copy_(savedParameter);
                fresh.LoadStateDict(saved);
                Run(resumed, fresh.Step, 7, 20);
                AssertBitsEqual(parameter, resumed, "resumed");
            }
        }
    }

    [Fact]
    public void AStateOfTheWrongShapeIsABadCheckpointNamingTheTensor()
    {
        var (parameter, optimizer) = Start();
        using (parameter)
        using (optimizer)
        {
            var state = new Dictionary<string, Tensor> { ["exp_avg.p"] = zeros(4, 3), ["exp_avg_sq.p"] = zeros(3, 4), ["step.p"] = tensor(3L) };
            var error = Assert.Throws<EncoderKitException>(() => optimizer.LoadStateDict(state, "optimizer.safetensors"));
            Assert.Equal(ErrorKind.BadCheckpoint, error.Kind);
            Assert.Equal("exp_avg.p", error.Field);
            Assert.Contains("optimizer.safetensors", error.Message);
            state = new Dictionary<string, Tensor> { ["exp_avg.q"] = zeros(3, 4) };
            Assert.Equal("exp_avg.q", Assert.Throws<EncoderKitException>(() => optimizer.LoadStateDict(state)).Field);
            Assert.Empty(optimizer.StateDict());   // nothing loaded from either
        }
    }

    [Fact]
    public void OnlyParametersWithAGradientAreStepped()
    {
        using var decayed = new Parameter(ones(2));
        using var frozen = new Parameter(ones(2));
        using var optimizer = new AdamW([new ParameterGroup([("decayed", decayed), ("frozen", frozen)], WeightDecay: 0.5)], learningRate: 0.1);
        decayed.grad = zeros(2);
        optimizer.Step();
        // A zero gradient moves nothing but the decay: 1 × (1 − 0.1 × 0.5).
        Assert.Equal(new[] { 0.95f, 0.95f }, decayed.detach().data<float>().ToArray());
        Assert.Equal(new[] { 1f, 1f }, frozen.detach().data<float>().ToArray());
        Assert.Equal(["exp_avg.decayed", "exp_avg_sq.decayed", "step.decayed"], optimizer.StateDict().Keys.Order(StringComparer.Ordinal));
    }
}
