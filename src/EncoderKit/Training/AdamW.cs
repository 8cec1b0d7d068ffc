using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Training;

/// <summary>Parameters that share a weight decay, each under the network's own name (the key of its optimizer state).</summary>
public sealed record ParameterGroup(IReadOnlyList<(string Name, Parameter Parameter)> Parameters, double WeightDecay);

/// <summary>
/// AdamW (Loshchilov &amp; Hutter, "Decoupled Weight Decay Regularization") as torch.optim.AdamW's single-tensor path
/// computes it, op for op, so the fp32 parameters and state are PyTorch's bits:
/// p *= 1 − lr·wd; m = lerp(m, g, 1 − β1); v = β2·v + (1 − β2)·g²; p −= lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε).
/// </summary>
/// <remarks>
/// TorchSharp's own optim.AdamW updates m as β1·m + (1 − β1)·g where PyTorch uses lerp, which rounds differently: on the
/// recorded reference run its parameters still agree after 20 steps but its exp_avg is already ulps away
/// (-0.06276708 vs -0.06276706), and a long run would carry that into the weights. So this one is written out.
/// Each parameter keeps its own step count, as PyTorch's state does: a parameter without a gradient is not stepped.
/// </remarks>
public sealed class AdamW : IDisposable
{
    sealed class State(Tensor expAvg, Tensor expAvgSq) : IDisposable
    {
        public long Step;
        public readonly Tensor ExpAvg = expAvg, ExpAvgSq = expAvgSq;

        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
        }
    }

    readonly IReadOnlyList<ParameterGroup> groups;
    readonly Dictionary<string, State> states = new(StringComparer.Ordinal);
    readonly double beta1, beta2, epsilon;

    public AdamW(IReadOnlyList<ParameterGroup> groups, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8)
    {
        if (!(learningRate >= 0)) throw new EncoderKitException(ErrorKind.BadInput, $"learning rate {learningRate} is not ≥ 0", field: "learning_rate");
        if (!(beta1 is >= 0 and < 1) || !(beta2 is >= 0 and < 1)) throw new EncoderKitException(ErrorKind.BadInput, $"betas ({beta1}, {beta2}) are not in [0, 1)", field: "betas");
        if (!(epsilon >= 0)) throw new EncoderKitException(ErrorKind.BadInput, $"epsilon {epsilon} is not ≥ 0", field: "epsilon");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in groups.SelectMany(g => g.Parameters))
            if (!names.Add(name)) throw new ArgumentException($"parameter {name} is in more than one group", nameof(groups));
        this.groups = groups;
        LearningRate = learningRate;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
    }

    /// <summary>The learning rate the next <see cref="Step"/> uses; a schedule sets it before each step.</summary>
    public double LearningRate { get; set; }

    /// <summary>Updates every parameter that has a gradient.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double lr = LearningRate;
        foreach (ParameterGroup group in groups)
        foreach (var (name, parameter) in group.Parameters)
        {
            Tensor? grad = parameter.grad;
            if (grad is null) continue;
            if (!states.TryGetValue(name, out State? state))
                states[name] = state = new State(zeros_like(parameter).DetachFromDisposeScope(), zeros_like(parameter).DetachFromDisposeScope());
            state.Step++;
            double biasCorrection1 = 1 - Math.Pow(beta1, state.Step), biasCorrection2 = 1 - Math.Pow(beta2, state.Step);
            // Scalars held by `using` until the op returns: TorchSharp frees an implicitly converted Scalar in its finalizer,
            // which can run while the native op still reads it (seen under the parallel test suite as "Unknown scalar type"
            // and "Expected false to be true" from c10::Scalar in this method).
            using Scalar decay = (1 - lr * group.WeightDecay).ToScalar(), beta2Scalar = beta2.ToScalar(),
                squareShare = (1 - beta2).ToScalar(), epsilonScalar = epsilon.ToScalar(),
                // Python's bias_correction2 ** 0.5, which need not be the same double as Math.Sqrt's.
                correction2 = Math.Pow(biasCorrection2, 0.5).ToScalar(), stepSize = (-(lr / biasCorrection1)).ToScalar(),
                one = 1.ToScalar();   // add_'s alpha: its default would be another implicit Scalar
            using Tensor gradShare = 1 - beta1;   // lerp_ takes its weight as a tensor, as the implicit conversion made it
            parameter.mul_(decay);
            state.ExpAvg.lerp_(grad, gradShare);
            state.ExpAvgSq.mul_(beta2Scalar).addcmul_(grad, grad, squareShare);
            Tensor denominator = (state.ExpAvgSq.sqrt() / correction2).add_(epsilonScalar, one);
            parameter.addcdiv_(state.ExpAvg, denominator, stepSize);
        }
    }

    /// <summary>Drops every gradient (set to none, as PyTorch's zero_grad does by default).</summary>
    public void ZeroGrad()
    {
        foreach (var (_, parameter) in groups.SelectMany(g => g.Parameters))
        {
            using Tensor? grad = parameter.grad;
            if (grad is not null) parameter.grad = null;
        }
    }

    /// <summary>
    /// The optimizer's state as named CPU tensors (a copy), ready for a safetensors file: <c>exp_avg.{name}</c>,
    /// <c>exp_avg_sq.{name}</c> (the parameter's dtype and shape) and <c>step.{name}</c> (int64 scalar).
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, state) in states)
        {
            result["exp_avg." + name] = state.ExpAvg.detach().cpu().clone();
            result["exp_avg_sq." + name] = state.ExpAvgSq.detach().cpu().clone();
            result["step." + name] = tensor(state.Step);
        }
        return result;
    }

    /// <summary>
    /// Replaces the state with one <see cref="StateDict"/> wrote (tensors copied onto each parameter's device; a parameter
    /// it leaves out starts afresh). Every tensor must belong to a parameter of this optimizer and fit it, or nothing is loaded.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string? file = null)
    {
        var parameters = groups.SelectMany(g => g.Parameters).ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        foreach (string key in stateDict.Keys)
        {
            int dot = key.IndexOf('.', StringComparison.Ordinal);
            string kind = dot < 0 ? key : key[..dot], name = dot < 0 ? "" : key[(dot + 1)..];
            if (kind is not ("exp_avg" or "exp_avg_sq" or "step") || !parameters.ContainsKey(name))
                throw new EncoderKitException(ErrorKind.BadCheckpoint, "not the state of a parameter this optimizer holds", file, key);
        }
        var loaded = new Dictionary<string, State>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, parameter) in parameters)
            {
                bool hasAvg = stateDict.TryGetValue("exp_avg." + name, out Tensor? expAvg);
                bool hasAvgSq = stateDict.TryGetValue("exp_avg_sq." + name, out Tensor? expAvgSq);
                bool hasStep = stateDict.TryGetValue("step." + name, out Tensor? step);
                if (!hasAvg && !hasAvgSq && !hasStep) continue;   // never stepped
                if (expAvg is null || expAvgSq is null || step is null)
                    throw new EncoderKitException(ErrorKind.BadCheckpoint, "needs exp_avg, exp_avg_sq and step together", file, name);
                foreach (var (kind, value) in new[] { ("exp_avg", expAvg), ("exp_avg_sq", expAvgSq) })
                    if (!value.shape.SequenceEqual(parameter.shape) || value.dtype != parameter.dtype)
                        throw new EncoderKitException(ErrorKind.BadCheckpoint,
                            $"{value.dtype} [{string.Join(", ", value.shape)}], expected {parameter.dtype} [{string.Join(", ", parameter.shape)}]", file, kind + "." + name);
                if (step.NumberOfElements != 1 || step.dtype != ScalarType.Int64 || step.item<long>() < 1)
                    throw new EncoderKitException(ErrorKind.BadCheckpoint, "step is not a positive int64 count", file, "step." + name);
                loaded[name] = new State(expAvg.to(parameter.device).clone(), expAvgSq.to(parameter.device).clone()) { Step = step.item<long>() };
            }
        }
        catch
        {
            foreach (State state in loaded.Values) state.Dispose();
            throw;
        }
        foreach (State state in states.Values) state.Dispose();
        states.Clear();
        foreach (var (name, state) in loaded) states[name] = state;
    }

    public void Dispose()
    {
        foreach (State state in states.Values) state.Dispose();
        states.Clear();
    }
}
