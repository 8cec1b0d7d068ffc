using System.Text.Json.Nodes;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Modeling.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// sentence_transformers.models.Dense: y = activation(x Wᵀ + b). The folder holds config.json (in_features,
/// out_features, bias, activation_function as a Python class path) and the weights <c>linear.weight</c> [out, in] and
/// <c>linear.bias</c> [out] in model.safetensors or pytorch_model.bin; they are this module's parameters under the
/// same names, so training updates them and a state dict reads as the library's.
/// </summary>
public sealed class DenseLayer : nn.Module<Tensor, Tensor>, IEmbeddingLayer
{
    readonly Dense linear;

    DenseLayer(string name, int inFeatures, int outFeatures, bool hasBias, DenseActivation activation, IParameterSource source) : base(name)
    {
        Name = name;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Activation = activation;
        linear = new Dense("linear", inFeatures, outFeatures, hasBias, source);
        register_module("linear", linear);
    }

    public string Name { get; }
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public DenseActivation Activation { get; }

    /// <summary>Python class paths of the activations sentence-transformers models use, by our name.</summary>
    static readonly Dictionary<string, DenseActivation> ActivationClasses = new()
    {
        ["Tanh"] = DenseActivation.Tanh,
        ["Identity"] = DenseActivation.Identity,
        ["ReLU"] = DenseActivation.Relu,
        ["GELU"] = DenseActivation.Gelu,
        ["Sigmoid"] = DenseActivation.Sigmoid,
        ["SiLU"] = DenseActivation.Silu,
    };

    /// <summary>Loads the Dense module in <paramref name="folder"/> onto <paramref name="device"/>.</summary>
    public static DenseLayer Load(string folder, string name, Device? device = null)
    {
        ConfigJson config = ConfigJson.Load(Path.Combine(folder, "config.json"));
        int inFeatures = config.Int("in_features"), outFeatures = config.Int("out_features");
        if (inFeatures <= 0) throw config.Invalid("in_features", $"must be positive, got {inFeatures}");
        if (outFeatures <= 0) throw config.Invalid("out_features", $"must be positive, got {outFeatures}");
        bool hasBias = config.Bool("bias", true);
        DenseActivation activation = ParseActivation(config);
        foreach (string key in new[] { "module_input_name", "module_output_name" })
        {
            if (config.StringOrNull(key) is { } feature && feature != "sentence_embedding")
                throw config.Invalid(key, $"'{feature}': only Dense layers on the sentence embedding are supported");
        }

        using ModuleWeights weights = ModuleWeights.Open(folder, device ?? CPU, hasBias ? new HashSet<string> { "linear.weight", "linear.bias" } : new HashSet<string> { "linear.weight" });
        return new DenseLayer(name, inFeatures, outFeatures, hasBias, activation, weights);
    }

    /// <summary>A layer from given weights (tests and conversions): <paramref name="weight"/> is [out, in].</summary>
    public static DenseLayer Create(Tensor weight, Tensor? bias, DenseActivation activation, string name = "Dense")
    {
        var given = new Dictionary<string, Tensor> { ["linear.weight"] = weight };
        if (bias is not null) given["linear.bias"] = bias;
        return new DenseLayer(name, (int)weight.shape[1], (int)weight.shape[0], bias is not null, activation, new GivenParameters(given, weight.device));
    }

    static DenseActivation ParseActivation(ConfigJson config)
    {
        string? path = config.StringOrNull("activation_function");
        if (path is null) return DenseActivation.Identity;   // null means nn.Identity in the library
        string className = path[(path.LastIndexOf('.') + 1)..];
        bool torchClass = path.StartsWith("torch.nn.", StringComparison.Ordinal) || !path.Contains('.');
        if (torchClass && ActivationClasses.TryGetValue(className, out DenseActivation activation)) return activation;
        throw config.Invalid("activation_function",
            $"unsupported activation '{path}' (supported: {string.Join(", ", ActivationClasses.Keys.Select(k => "torch.nn." + k))})");
    }

    public int OutputDimension(int inputDimension) =>
        inputDimension == InFeatures ? OutFeatures
            : throw new EncoderKitException(ErrorKind.BadConfig, $"takes {InFeatures} features but the module before it gives {inputDimension}", field: Name);

    public Tensor Forward(Tensor embeddings) => forward(embeddings);

    public void Save(string folder) => ModuleWeights.Save(folder, this, new JsonObject
    {
        ["in_features"] = InFeatures,
        ["out_features"] = OutFeatures,
        ["bias"] = linear.named_parameters().Any(p => p.name == "bias"),
        // The class path sentence-transformers writes: torch.nn.modules.<module>.<class>.
        ["activation_function"] = "torch.nn.modules." + (Activation == DenseActivation.Identity ? "linear" : "activation") + "."
            + ActivationClasses.First(a => a.Value == Activation).Key,
    });

    public override Tensor forward(Tensor embeddings)
    {
        using var scope = NewDisposeScope();
        Tensor y = linear.forward(embeddings);
        Tensor result = Activation switch
        {
            DenseActivation.Identity => y,
            DenseActivation.Tanh => y.tanh(),
            DenseActivation.Relu => nn.functional.relu(y),
            DenseActivation.Gelu => nn.functional.gelu(y),
            DenseActivation.Sigmoid => y.sigmoid(),
            DenseActivation.Silu => nn.functional.silu(y),
            _ => throw new InvalidOperationException(Activation.ToString()),
        };
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>The activation after a <see cref="DenseLayer"/>, as torch.nn names it.</summary>
public enum DenseActivation { Identity, Tanh, Relu, Gelu, Sigmoid, Silu }
