using EncoderKit.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// sentence_transformers.models.Dense: y = activation(x Wᵀ + b). The folder holds config.json (in_features,
/// out_features, bias, activation_function as a Python class path) and the weights <c>linear.weight</c> [out, in] and
/// <c>linear.bias</c> [out] in model.safetensors or pytorch_model.bin.
/// </summary>
public sealed class DenseLayer : IEmbeddingLayer
{
    readonly Tensor _weight;
    readonly Tensor? _bias;

    DenseLayer(string name, int inFeatures, int outFeatures, DenseActivation activation, Tensor weight, Tensor? bias)
    {
        Name = name;
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Activation = activation;
        _weight = weight;
        _bias = bias;
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
        device ??= CPU;
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

        using ITensorSource weights = ModuleWeights.Open(folder);
        ModuleWeights.RejectUnexpected(weights, folder, hasBias ? new HashSet<string> { "linear.weight", "linear.bias" } : new HashSet<string> { "linear.weight" });
        Tensor weight = ModuleWeights.Read(weights, folder, "linear.weight", [outFeatures, inFeatures], device);
        Tensor? bias = hasBias ? ModuleWeights.Read(weights, folder, "linear.bias", [outFeatures], device) : null;
        return new DenseLayer(name, inFeatures, outFeatures, activation, weight, bias);
    }

    /// <summary>A layer from given weights (tests and conversions): <paramref name="weight"/> is [out, in].</summary>
    public static DenseLayer Create(Tensor weight, Tensor? bias, DenseActivation activation, string name = "Dense") =>
        new(name, (int)weight.shape[1], (int)weight.shape[0], activation, weight.to_type(ScalarType.Float32).detach().clone(),
            bias?.to_type(ScalarType.Float32).detach().clone());

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

    public Tensor Forward(Tensor embeddings)
    {
        using var scope = NewDisposeScope();
        Tensor y = nn.functional.linear(embeddings, _weight, _bias);
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

    public void Dispose()
    {
        _weight.Dispose();
        _bias?.Dispose();
    }
}

/// <summary>The activation after a <see cref="DenseLayer"/>, as torch.nn names it.</summary>
public enum DenseActivation { Identity, Tanh, Relu, Gelu, Sigmoid, Silu }
