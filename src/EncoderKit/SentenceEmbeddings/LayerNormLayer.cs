using EncoderKit.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// sentence_transformers.models.LayerNorm: torch.nn.LayerNorm(dimension) (eps 1e-5) over the sentence vector;
/// config.json holds <c>dimension</c>, the weights are <c>norm.weight</c> and <c>norm.bias</c>.
/// </summary>
public sealed class LayerNormLayer : IEmbeddingLayer
{
    const double Eps = 1e-5;
    readonly Tensor _weight, _bias;

    LayerNormLayer(string name, int dimension, Tensor weight, Tensor bias)
    {
        Name = name;
        Dimension = dimension;
        _weight = weight;
        _bias = bias;
    }

    public string Name { get; }
    public int Dimension { get; }

    public static LayerNormLayer Load(string folder, string name, Device? device = null)
    {
        device ??= CPU;
        ConfigJson config = ConfigJson.Load(Path.Combine(folder, "config.json"));
        int dimension = config.Int("dimension");
        if (dimension <= 0) throw config.Invalid("dimension", $"must be positive, got {dimension}");
        using ITensorSource weights = ModuleWeights.Open(folder);
        ModuleWeights.RejectUnexpected(weights, folder, new HashSet<string> { "norm.weight", "norm.bias" });
        Tensor weight = ModuleWeights.Read(weights, folder, "norm.weight", [dimension], device);
        Tensor bias = ModuleWeights.Read(weights, folder, "norm.bias", [dimension], device);
        return new LayerNormLayer(name, dimension, weight, bias);
    }

    public int OutputDimension(int inputDimension) =>
        inputDimension == Dimension ? Dimension
            : throw new EncoderKitException(ErrorKind.BadConfig, $"normalises {Dimension} features but the module before it gives {inputDimension}", field: Name);

    public Tensor Forward(Tensor embeddings) => nn.functional.layer_norm(embeddings, [Dimension], _weight, _bias, Eps);

    public void Dispose()
    {
        _weight.Dispose();
        _bias.Dispose();
    }
}
