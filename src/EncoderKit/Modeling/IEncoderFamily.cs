using EncoderKit.IO;

namespace EncoderKit.Modeling;

/// <summary>
/// One model family: how its config.json becomes an <see cref="EncoderSpec"/>, and how its checkpoint names map
/// onto the network's parameters. A family file holds nothing else.
/// </summary>
public interface IEncoderFamily
{
    /// <summary>Short name, as `model_type` spells it.</summary>
    string Name { get; }

    /// <summary>Whether this config belongs to the family (model_type, architectures, auto_map).</summary>
    bool Recognizes(ConfigJson config);

    /// <summary>The prefix of encoder tensors in task checkpoints ("bert.", "model."), which bare encoder checkpoints leave out.</summary>
    string BasePrefix { get; }

    /// <param name="checkpoint">The checkpoint's tensor names, which decide the heads; null for a freshly initialised model, whose heads follow `architectures`.</param>
    EncoderSpec Spec(ConfigJson config, CheckpointNames? checkpoint);

    WeightMap Weights(EncoderSpec spec);

    /// <summary>How the reference initialises a fresh model of this config (its <c>_init_weights</c>), for <see cref="RandomParameters"/>.</summary>
    InitRules Init(ConfigJson config, EncoderSpec spec);
}

/// <summary>The tensor names a checkpoint holds, and which base prefix ("bert.", "model.") it uses.</summary>
public sealed class CheckpointNames
{
    readonly HashSet<string> names;

    public CheckpointNames(IEnumerable<string> tensorNames, string basePrefix)
    {
        names = new HashSet<string>(tensorNames, StringComparer.Ordinal);
        PrefixInUse = basePrefix.Length > 0 && names.Any(n => n.StartsWith(basePrefix, StringComparison.Ordinal)) ? basePrefix : "";
    }

    public string PrefixInUse { get; }

    /// <summary>Whether an encoder tensor (named without the base prefix) is present.</summary>
    public bool HasBase(string name) => names.Contains(PrefixInUse + name);

    /// <summary>Whether a head tensor is present.</summary>
    public bool HasHead(string name) => names.Contains(name);

    /// <summary>Rows of a present head tensor (e.g. a classifier's label count).</summary>
    public long? Rows(ITensorSource source, string name) => source.TryGet(name, out var info) && info.Shape.Length > 0 ? info.Shape[0] : null;
}
