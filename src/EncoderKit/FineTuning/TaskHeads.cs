using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.IO;

namespace EncoderKit.FineTuning;

/// <summary>
/// A base checkpoint turned into a task model, as transformers' AutoModelFor&lt;Task&gt;.from_pretrained(base, id2label=…,
/// label2id=…, problem_type=…) builds and saves it: the config names the family's task class and the labels, the base's
/// weights are kept, the new head is initialised as the reference class initialises it, pretraining heads are dropped.
/// </summary>
public static class TaskHeads
{
    // The transformers class prefix of each family's task models, and the tasks its reference code has a class for.
    static readonly Dictionary<string, (string Prefix, FineTuningTask[] Tasks)> Classes = new(StringComparer.Ordinal)
    {
        ["bert"] = ("Bert", Enum.GetValues<FineTuningTask>()),
        ["modernbert"] = ("ModernBert", Enum.GetValues<FineTuningTask>()),
        ["retrieva-bert"] = ("RetrievaBert", Enum.GetValues<FineTuningTask>()),
        ["nomic_bert"] = ("NomicBert", [FineTuningTask.TextClassification, FineTuningTask.MultiLabel, FineTuningTask.Regression]),
    };

    /// <summary>The base's config rewritten for <paramref name="task"/>, keys sorted as transformers writes them.</summary>
    /// <param name="labels">Label names in id order (id2label); for regression the one output's name; empty for QA and multiple choice.</param>
    /// <exception cref="EncoderKitException">The family has no class for the task (the Llama-style encoder has no task heads at all).</exception>
    public static ConfigJson ConfigFor(ConfigJson baseConfig, FineTuningTask task, IReadOnlyList<string> labels)
    {
        string family = Modeling.ModelFamilies.Recognize(baseConfig).Name;
        if (!Classes.TryGetValue(family, out var classes) || !classes.Tasks.Contains(task))
            throw new EncoderKitException(ErrorKind.BadInput,
                $"the {family} family has no {task.Name()} head layout (its reference code defines no such class)", baseConfig.File, "architectures");
        string className = classes.Prefix + task.ClassSuffix();
        var root = (JsonObject)baseConfig.Root.DeepClone();
        root["architectures"] = new JsonArray(className);
        root.Remove("num_labels");   // transformers derives it from id2label and does not write it
        root.Remove("id2label");
        root.Remove("label2id");
        root.Remove("problem_type");
        if (task.HasLabels())
        {
            if (labels.Count == 0) throw new EncoderKitException(ErrorKind.BadInput, "a classification task needs at least one label", field: "labels");
            root["id2label"] = new JsonObject(labels.Select((name, id) => KeyValuePair.Create(id.ToString(System.Globalization.CultureInfo.InvariantCulture), (JsonNode?)name)));
            root["label2id"] = new JsonObject(labels.Select((name, id) => KeyValuePair.Create(name, (JsonNode?)id)));
        }
        if (task.ProblemType() is { } problem) root["problem_type"] = problem;
        // Remote-code families: the auto class of the task points into the same modeling module as the others.
        if (root["auto_map"] is JsonObject autoMap && Modeling.FamilyRecognition.AutoMapModules(baseConfig).FirstOrDefault(m => m.StartsWith("modeling_", StringComparison.Ordinal)) is { } module)
            autoMap["AutoModel" + task.ClassSuffix()] = $"{module}.{className}";
        return ConfigJson.Parse(Sorted(root)!.ToJsonString(), baseConfig.File);
    }

    /// <summary>The task model on the base checkpoint in <paramref name="baseFolder"/>, its new head drawn from <paramref name="seed"/>.</summary>
    public static EncoderModel Create(string baseFolder, FineTuningTask task, IReadOnlyList<string> labels, ComputeOptions? options = null, long seed = 0)
    {
        ConfigJson config = ConfigFor(ConfigJson.Load(Path.Combine(baseFolder, "config.json")), task, labels);
        return EncoderModel.LoadWithNewHeads(baseFolder, config, options, seed);
    }

    // json.dumps(sort_keys=True), as PretrainedConfig.to_json_string writes config.json.
    static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Sorted)]),
        null => null,
        _ => node.DeepClone(),
    };
}
