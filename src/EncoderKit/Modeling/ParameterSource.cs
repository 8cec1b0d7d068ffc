using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling;

/// <summary>How a parameter starts when there is no checkpoint to read it from: the block's kind of parameter.</summary>
public enum Init { Normal, Zeros, Ones }

/// <summary>
/// Where a network's parameters come from while it is being built: a checkpoint, or fresh initialisation.
/// Blocks ask for each parameter by its internal name and shape, so building the network once validates the
/// whole checkpoint against the spec.
/// </summary>
public interface IParameterSource
{
    ScalarType Dtype { get; }
    Device Device { get; }

    Tensor Take(string name, long[] shape, Init init);
}

/// <summary>
/// A family's initialisation, as its reference's <c>_init_weights</c> does it: matrices and embeddings drawn from
/// normal(0, std), optionally truncated; biases zero; norms one. Families state it as data.
/// </summary>
/// <param name="Std">The std of every drawn parameter without an override (initializer_range).</param>
public sealed record InitRules(double Std)
{
    /// <summary>Draws are truncated to ± this many of their std (ModernBERT's initializer_cutoff_factor); null: plain normal.</summary>
    public double? CutoffStds { get; init; }

    /// <summary>Internal-name patterns ("{i}" a layer index) whose std differs from <see cref="Std"/>; the first match wins.</summary>
    public IReadOnlyList<(string Pattern, double Std)> StdOverrides { get; init; } = [];

    /// <summary>A row zeroed after drawing: the word embeddings' padding_idx row, as nn.Embedding(padding_idx) has it.</summary>
    public (string Parameter, long Row)? ZeroRow { get; init; }

    public double StdOf(string internalName)
    {
        foreach (var (pattern, std) in StdOverrides)
            if (Regex.IsMatch(internalName, "^" + Regex.Escape(pattern).Replace(@"\{i}", @"\d+") + "$", RegexOptions.CultureInvariant))
                return std;
        return Std;
    }
}

/// <summary>Fresh weights drawn by a family's <see cref="InitRules"/> from one seeded generator.</summary>
public sealed class RandomParameters(InitRules rules, ScalarType dtype, Device device, long seed = 0) : IParameterSource
{
    readonly Generator generator = new((ulong)seed, new Device(DeviceType.CPU));

    public ScalarType Dtype => dtype;
    public Device Device => device;

    public Tensor Take(string name, long[] shape, Init init)
    {
        Tensor cpu = init switch
        {
            Init.Zeros => zeros(shape, dtype),
            Init.Ones => ones(shape, dtype),
            _ => Draw(name, shape),
        };
        if (device.type == DeviceType.CPU) return cpu;
        using (cpu) return cpu.to(device);
    }

    Tensor Draw(string name, long[] shape)
    {
        double std = rules.StdOf(name);
        Tensor drawn = rules.CutoffStds is { } cutoff ? TruncatedNormal(shape, std, cutoff) : normal(0, std, shape, ScalarType.Float32, generator: generator);
        if (rules.ZeroRow is { } zero && zero.Parameter == name && zero.Row >= 0 && zero.Row < shape[0])
            drawn[zero.Row].zero_();
        if (drawn.dtype == dtype) return drawn;
        using (drawn) return drawn.to_type(dtype);
    }

    // Inverse-CDF sampling, as torch.nn.init.trunc_normal_ computes it: uniform over [Φ(-c), Φ(c)], mapped back
    // through Φ⁻¹ (via erfinv), scaled, and clamped against rounding at the bounds. TorchSharp's trunc_normal_
    // ignores its generator, so it could not be seeded.
    Tensor TruncatedNormal(long[] shape, double std, double cutoff)
    {
        using var scope = NewDisposeScope();
        using var bound = tensor(cutoff / Math.Sqrt(2), ScalarType.Float64);
        double high = 0.5 * (1 + special.erf(bound).item<double>()), low = 1 - high;
        Tensor u = rand(shape, ScalarType.Float32, generator: generator) * (2 * (high - low)) + (2 * low - 1);
        Tensor drawn = special.erfinv(u) * (std * Math.Sqrt(2));
        using Scalar lowest = (-cutoff * std).ToScalar(), highest = (cutoff * std).ToScalar();
        return drawn.clamp_(lowest, highest).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The parameters of a built network, each copied in another dtype: how a model is re-made in a compute dtype
/// with its ties intact (building anew ties the decoder to the new embedding, as loading does).
/// </summary>
public sealed class CopiedParameters(EncoderNetwork source, ScalarType dtype) : IParameterSource
{
    readonly Dictionary<string, Tensor> parameters = source.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);

    public ScalarType Dtype => dtype;
    public Device Device => parameters.Values.First().device;

    public Tensor Take(string name, long[] shape, Init init)
    {
        if (!parameters.TryGetValue(name, out Tensor? value) || !value.shape.SequenceEqual(shape))
            throw new InvalidOperationException($"the source network has no parameter {name} [{string.Join(", ", shape)}]");
        using (no_grad()) return value.detach().to_type(dtype, copy: true);
    }
}

