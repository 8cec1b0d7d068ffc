using System.Text.Json.Nodes;
using EncoderKit.IO;

namespace EncoderKit.Modeling;

/// <summary>
/// config.json fields that mean the same in every family (transformers' PretrainedConfig and activation names), read
/// once here so a family file reads its own fields and nothing of another family's.
/// </summary>
public static class ConfigFields
{
    /// <summary>
    /// Label names in id order from id2label; LABEL_i where absent, two labels by default as transformers has it. A
    /// num_labels or label2id that disagrees with id2label is an error, as transformers refuses it too.
    /// </summary>
    public static IReadOnlyList<string> LabelNames(this ConfigJson c)
    {
        var map = c.StringMap("id2label");
        int? count = c.IntOrNull("num_labels");
        if (map.Count == 0) return count is { } n ? Enumerable.Range(0, n).Select(i => $"LABEL_{i}").ToList() : ["LABEL_0", "LABEL_1"];
        if (count is { } labels && labels != map.Count)
            throw c.Invalid("num_labels", $"{labels} labels, but id2label names {map.Count}");
        var names = new string[map.Count];
        foreach (var (key, name) in map)
        {
            if (!int.TryParse(key, out int id) || id < 0 || id >= names.Length)
                throw c.Invalid($"id2label.{key}", $"label ids must be 0..{names.Length - 1}");
            names[id] = name;
        }
        if (c.Root["label2id"] is JsonObject inverse)
            foreach (var (name, value) in inverse)
                if (value is not JsonValue v || !v.TryGetValue(out int id) || id < 0 || id >= names.Length || names[id] != name)
                    throw c.Invalid($"label2id.{name}", $"is {PythonJson.Describe(value)}, but id2label gives '{name}' no such id");
        return names;
    }

    /// <summary>problem_type: how a sequence classifier's logits are read; null when the config does not say.</summary>
    public static ProblemType? ProblemType(this ConfigJson c) => c.StringOrNull("problem_type") switch
    {
        null => null,
        "single_label_classification" => Modeling.ProblemType.SingleLabel,
        "multi_label_classification" => Modeling.ProblemType.MultiLabel,
        "regression" => Modeling.ProblemType.Regression,
        var other => throw c.Invalid("problem_type", $"'{other}' is none of single_label_classification, multi_label_classification, regression"),
    };

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

/// <summary>transformers' problem_type: softmax over the labels, independent sigmoids, or raw regression values.</summary>
public enum ProblemType { SingleLabel, MultiLabel, Regression }
