using EncoderKit.IO;
using static TorchSharp.torch;

namespace EncoderKit.Modeling;

/// <summary>A built network and the base prefix its checkpoint names carry.</summary>
/// <param name="PrefixInUse">The base prefix ("bert.", "model.") of the encoder's tensor names in its checkpoint, or "" for a bare encoder.</param>
public sealed record BuiltNetwork(EncoderNetwork Network, string PrefixInUse);

/// <summary>
/// The one way a network comes to be: config → family → spec → parameter source → network. Loading a checkpoint,
/// a fresh initialisation, tests and training all go through it, so a failure half-way (a wrong shape in layer 1,
/// a tensor found missing at the end) frees every tensor already built, whoever asked.
/// </summary>
/// <exception cref="EncoderKitException">The config names no supported family.</exception>
public sealed class NetworkBuilder(ConfigJson config)
{
    public ConfigJson Config => config;

    public IEncoderFamily Family { get; } = ModelFamilies.Recognize(config);

    /// <summary>Adjusts the spec the config (and checkpoint) imply before anything is built, e.g. to try another layout.</summary>
    public Func<EncoderSpec, EncoderSpec>? ChangeSpec { get; init; }

    /// <summary>The network <paramref name="weights"/> hold, with the heads the checkpoint has.</summary>
    /// <exception cref="EncoderKitException">The checkpoint does not fit the spec: a wrong shape, a missing or unexpected tensor.</exception>
    public BuiltNetwork FromCheckpoint(ITensorSource weights, ScalarType dtype, Device device)
    {
        var names = new CheckpointNames(weights.Tensors.Select(t => t.Name), Family.BasePrefix);
        EncoderSpec spec = Adjusted(Family.Spec(config, names));
        var parameters = new CheckpointParameters(weights, Family.Weights(spec), names.PrefixInUse, dtype, device);
        return new BuiltNetwork(Build(spec, parameters, parameters.Finish), names.PrefixInUse);
    }

    /// <summary>A freshly initialised network of the shape the config describes, heads from its `architectures`.</summary>
    public BuiltNetwork FromInitialization(ScalarType dtype, Device device, long seed)
    {
        EncoderSpec spec = Adjusted(Family.Spec(config, null));
        var parameters = new RandomParameters(Family.Init(config, spec), dtype, device, seed);
        // Task checkpoints (any head but the pooler) put the encoder under the base prefix, as transformers' *For* classes do.
        bool anyHead = spec.Heads.All.Any(h => h is not Heads.PoolerSpec);
        return new BuiltNetwork(Build(spec, parameters, finish: null), anyHead ? Family.BasePrefix : "");
    }

    /// <summary>A copy of <paramref name="source"/> (same spec and heads) with its parameters in <paramref name="dtype"/>.</summary>
    public static EncoderNetwork Copy(EncoderNetwork source, ScalarType dtype) => Build(source.Spec, new CopiedParameters(source, dtype), finish: null);

    /// <summary>
    /// A task network on a base checkpoint, as transformers' AutoModelFor…from_pretrained(base) builds one: the heads the
    /// config's `architectures` name; every parameter the checkpoint holds read from it, every other one (the new head,
    /// a pooler the base lacks) initialised as the family initialises it; checkpoint tensors nothing asks for (the
    /// pretraining heads) dropped. The network's checkpoint prefix is the family's base prefix, as a task checkpoint's.
    /// </summary>
    public BuiltNetwork FromBaseCheckpoint(ITensorSource weights, ScalarType dtype, Device device, long seed)
    {
        var names = new CheckpointNames(weights.Tensors.Select(t => t.Name), Family.BasePrefix);
        EncoderSpec spec = Adjusted(Family.Spec(config, null));
        WeightMap map = Family.Weights(spec);
        var stored = new CheckpointParameters(weights, map, names.PrefixInUse, dtype, device);
        var fresh = new RandomParameters(Family.Init(config, spec), dtype, device, seed);
        var parameters = new FirstAvailableParameters(map, names.PrefixInUse, weights, stored, fresh);
        return new BuiltNetwork(Build(spec, parameters, finish: null), Family.BasePrefix);
    }

    // A parameter from the checkpoint when all of its stored parts are there (under any legacy name), otherwise fresh.
    sealed class FirstAvailableParameters(WeightMap map, string prefixInUse, ITensorSource weights, IParameterSource stored, IParameterSource fresh) : IParameterSource
    {
        public ScalarType Dtype => stored.Dtype;
        public Device Device => stored.Device;

        public Tensor Take(string name, long[] shape, Init init)
        {
            bool present = map.ExternalNames(name, prefixInUse).All(part => weights.TryGet(part, out _) || map.LegacyNames(part).Any(l => weights.TryGet(l, out _)));
            return (present ? stored : fresh).Take(name, shape, init);
        }
    }

    EncoderSpec Adjusted(EncoderSpec spec) => ChangeSpec is null ? spec : ChangeSpec(spec);

    // Every tensor made while building lands in this scope: on failure it frees them all; on success they leave it
    // for the network to own (and stay out of any scope the caller has open, which would otherwise free the weights).
    static EncoderNetwork Build(EncoderSpec spec, IParameterSource parameters, Action? finish)
    {
        using var scope = NewDisposeScope();
        var network = new EncoderNetwork(spec, parameters);
        finish?.Invoke();
        network.eval();
        scope.Detach(scope.DisposablesView.ToArray());
        return network;
    }
}
