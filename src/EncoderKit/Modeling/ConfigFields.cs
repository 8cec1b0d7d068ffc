using EncoderKit.IO;

namespace EncoderKit.Modeling;

/// <summary>
/// config.json fields that mean the same in every family (transformers' PretrainedConfig and activation names), read
/// once here so a family file reads its own fields and nothing of another family's.
/// </summary>
public static class ConfigFields
{
    /// <summary>Label names in id order from id2label; LABEL_i where absent, two labels by default as transformers has it.</summary>
    public static IReadOnlyList<string> LabelNames(this ConfigJson c)
    {
        var map = c.StringMap("id2label");
        if (map.Count == 0) return c.IntOrNull("num_labels") is { } n ? Enumerable.Range(0, n).Select(i => $"LABEL_{i}").ToList() : ["LABEL_0", "LABEL_1"];
        var names = new string[map.Count];
        foreach (var (key, name) in map)
        {
            if (!int.TryParse(key, out int id) || id < 0 || id >= names.Length)
                throw c.Invalid($"id2label.{key}", $"label ids must be 0..{names.Length - 1}");
            names[id] = name;
        }
        return names;
    }

    /// <summary>An activation by its Hugging Face name (hidden_act and friends), <paramref name="fallback"/> when absent.</summary>
    public static Activation Activation(this ConfigJson c, string key, string fallback) => (c.StringOrNull(key) ?? fallback) switch
    {
        "gelu" => Modeling.Activation.Gelu,
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Modeling.Activation.GeluTanh,
        "silu" or "swish" or "swiglu" => Modeling.Activation.Silu,
        "relu" => Modeling.Activation.Relu,
        var name => throw new EncoderKitException(ErrorKind.BadConfig,
            $"unsupported activation '{name}' (supported: gelu, gelu_new, gelu_pytorch_tanh, silu, swish, relu)", c.File, key),
    };
}
