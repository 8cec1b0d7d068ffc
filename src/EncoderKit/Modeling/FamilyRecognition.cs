using System.Text.Json.Nodes;
using EncoderKit.IO;

namespace EncoderKit.Modeling;

/// <summary>How a family tells its config.json apart: its `model_type`, a class of its in `architectures`, or its
/// remote-code module in `auto_map` (checkpoints saved through remote code sometimes carry another model_type).</summary>
public static class FamilyRecognition
{
    /// <param name="modelTypes">model_type values of the family.</param>
    /// <param name="architecturePrefix">Class-name prefix of its architectures (e.g. "ModernBert").</param>
    /// <param name="remoteModule">Module of its remote code as auto_map names it (e.g. "modeling_hf_nomic_bert"); null if none.</param>
    public static bool Matches(ConfigJson config, string[] modelTypes, string architecturePrefix, string? remoteModule = null)
    {
        if (config.StringOrNull("model_type") is { } type && modelTypes.Contains(type, StringComparer.Ordinal)) return true;
        if (config.Strings("architectures").Any(a => a.StartsWith(architecturePrefix, StringComparison.Ordinal))) return true;
        return remoteModule is not null && AutoMapModules(config).Contains(remoteModule);
    }

    /// <summary>The modules auto_map points into ("modeling_x.Class" → "modeling_x"; "repo--modeling_x.Class" too).</summary>
    public static IReadOnlySet<string> AutoMapModules(ConfigJson config)
    {
        var modules = new HashSet<string>(StringComparer.Ordinal);
        if (config.Root["auto_map"] is not JsonObject map) return modules;
        foreach (var (_, value) in map)
        {
            IEnumerable<JsonNode?> items = value is JsonArray array ? array : new[] { value };   // AutoTokenizer lists [slow, fast]
            foreach (JsonNode? item in items)
            {
                if (item is not JsonValue v || !v.TryGetValue(out string? reference)) continue;
                string local = reference[(reference.LastIndexOf("--", StringComparison.Ordinal) is var cut and >= 0 ? cut + 2 : 0)..];
                int dot = local.LastIndexOf('.');
                if (dot > 0) modules.Add(local[..dot]);
            }
        }
        return modules;
    }
}
