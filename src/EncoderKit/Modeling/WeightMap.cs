using System.Text.RegularExpressions;

namespace EncoderKit.Modeling;

/// <summary>How one internal parameter is stored: as one checkpoint tensor, or as several stacked along rows.</summary>
public enum PartLayout
{
    /// <summary>One checkpoint tensor.</summary>
    Whole,
    /// <summary>Separate query, key and value tensors (key and value may have fewer heads).</summary>
    QueryKeyValue,
    /// <summary>Two equal halves: a gated MLP's activated and linear projections.</summary>
    Halves,
}

/// <param name="Internal">Internal parameter name; "{i}" stands for a layer index.</param>
/// <param name="External">Checkpoint tensor names, stacked along rows in this order; "{i}" as above.</param>
/// <param name="InBase">Whether the names sit under the family's base prefix (e.g. "bert."), which checkpoints may or may not carry.</param>
public sealed record WeightMapEntry(string Internal, string[] External, PartLayout Layout, bool InBase);

/// <summary>
/// A family's two-way map between Hugging Face tensor names and the network's internal parameter names.
/// </summary>
public sealed partial class WeightMap
{
    readonly Dictionary<string, WeightMapEntry> byInternal = new(StringComparer.Ordinal);
    readonly List<(string Canonical, string Legacy)> suffixAliases = [];
    readonly List<Regex> ignored = [];

    /// <param name="basePrefix">The prefix of encoder (non-head) tensors in task checkpoints, e.g. "bert." or "model."; empty if none.</param>
    public WeightMap(string basePrefix) => BasePrefix = basePrefix;

    public string BasePrefix { get; }

    /// <summary>An encoder tensor (under the base prefix when the checkpoint uses one).</summary>
    public WeightMap Base(string @internal, params string[] external) => Add(@internal, external, inBase: true);

    /// <summary>A head tensor: named the same whatever the base prefix.</summary>
    public WeightMap Head(string @internal, params string[] external) => Add(@internal, external, inBase: false);

    /// <summary>
    /// The task heads in transformers' BERT layout (BertFor…, MegatronBertFor…): the sequence, token and multiple-choice
    /// classifiers all as "classifier.{weight,bias}", QA as "qa_outputs.{weight,bias}". The spec's heads say which is read.
    /// </summary>
    public WeightMap BertTaskHeads()
    {
        foreach (string module in new[] { "classifier", "token_classifier", "choice" })
            Head(module + ".output.weight", "classifier.weight").Head(module + ".output.bias", "classifier.bias");
        return Head("qa.output.weight", "qa_outputs.weight").Head("qa.output.bias", "qa_outputs.bias");
    }

    /// <summary>A suffix older checkpoints use instead of the canonical one (TensorFlow-era "LayerNorm.gamma").</summary>
    public WeightMap Alias(string canonicalSuffix, string legacySuffix)
    {
        suffixAliases.Add((canonicalSuffix, legacySuffix));
        return this;
    }

    /// <summary>Checkpoint tensors that carry nothing the network needs (buffers saved by older code).</summary>
    public WeightMap Ignore(string pattern)
    {
        ignored.Add(new Regex("^" + pattern + "$", RegexOptions.CultureInvariant));
        return this;
    }

    public WeightMapEntry Find(string internalName, out string? layer)
    {
        Match m = LayerIndex().Match(internalName);
        layer = m.Success ? m.Groups[1].Value : null;
        string pattern = m.Success ? LayerIndex().Replace(internalName, "layers.{i}.", 1) : internalName;
        return byInternal.TryGetValue(pattern, out var entry) ? entry
            : throw new InvalidOperationException($"weight map has no entry for internal parameter '{internalName}'");
    }

    /// <summary>The checkpoint names of <paramref name="internalName"/>'s parts, with the given base prefix.</summary>
    public string[] ExternalNames(string internalName, string prefixInUse)
    {
        WeightMapEntry entry = Find(internalName, out string? layer);
        return entry.External.Select(e => (entry.InBase ? prefixInUse : "") + (layer is null ? e : e.Replace("{i}", layer))).ToArray();
    }

    /// <summary>
    /// The checkpoint tensors an internal parameter is saved as: itself, or its row blocks split back into
    /// q / k / v or the two gate halves. The pieces are views of <paramref name="value"/>.
    /// </summary>
    public IEnumerable<(string Name, TorchSharp.torch.Tensor Value)> Export(string internalName, TorchSharp.torch.Tensor value, string prefixInUse, EncoderSpec spec)
    {
        string[] names = ExternalNames(internalName, prefixInUse);
        long[] rows = Layout(internalName) switch
        {
            PartLayout.Whole => [value.shape[0]],
            PartLayout.Halves => [value.shape[0] / 2, value.shape[0] / 2],
            _ => [spec.Attention.Heads * (long)spec.Attention.HeadDim, spec.Attention.KvHeads * (long)spec.Attention.HeadDim, spec.Attention.KvHeads * (long)spec.Attention.HeadDim],
        };
        if (names.Length == 1)
        {
            yield return (names[0], value);
            yield break;
        }
        long start = 0;
        for (int i = 0; i < names.Length; i++)
        {
            yield return (names[i], value.narrow(0, start, rows[i]));
            start += rows[i];
        }
    }

    public PartLayout Layout(string internalName) => Find(internalName, out _).Layout;

    /// <summary>Other spellings of a checkpoint name, to try when the canonical one is absent.</summary>
    public IEnumerable<string> LegacyNames(string name)
    {
        foreach (var (canonical, legacy) in suffixAliases)
            if (name.EndsWith(canonical, StringComparison.Ordinal)) yield return name[..^canonical.Length] + legacy;
    }

    public bool IsIgnored(string checkpointName) => ignored.Any(r => r.IsMatch(checkpointName));

    WeightMap Add(string @internal, string[] external, bool inBase)
    {
        PartLayout layout = external.Length switch
        {
            1 => PartLayout.Whole,
            2 => PartLayout.Halves,
            3 => PartLayout.QueryKeyValue,
            _ => throw new ArgumentException("an internal parameter is stored as one, two (gate halves) or three (q, k, v) tensors", nameof(external)),
        };
        byInternal.Add(@internal, new WeightMapEntry(@internal, external, layout, inBase));
        return this;
    }

    [GeneratedRegex(@"^layers\.(\d+)\.")]
    private static partial Regex LayerIndex();
}
