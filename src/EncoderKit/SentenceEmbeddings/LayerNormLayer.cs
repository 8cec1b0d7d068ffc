using System.Text.Json.Nodes;
using EncoderKit.IO;
using EncoderKit.Modeling;
using EncoderKit.Modeling.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// sentence_transformers.models.LayerNorm: torch.nn.LayerNorm(dimension) (eps 1e-5) over the sentence vector;
/// config.json holds <c>dimension</c>, the weights are <c>norm.weight</c> and <c>norm.bias</c>, this module's
/// parameters under the same names.
/// </summary>
public sealed class LayerNormLayer : nn.Module<Tensor, Tensor>, IEmbeddingLayer
{
    static readonly NormSpec TorchLayerNorm = new(NormKind.LayerNorm, Eps: 1e-5, Bias: true);
    readonly Norm norm;

    LayerNormLayer(string name, int dimension, IParameterSource source) : base(name)
    {
        Name = name;
        Dimension = dimension;
        norm = new Norm("norm", dimension, TorchLayerNorm, source);
        register_module("norm", norm);
    }

    public string Name { get; }
    public int Dimension { get; }

    public static LayerNormLayer Load(string folder, string name, Device? device = null)
    {
        ConfigJson config = ConfigJson.Load(Path.Combine(folder, "config.json"));
        int dimension = config.Int("dimension");
        if (dimension <= 0) throw config.Invalid("dimension", $"must be positive, got {dimension}");
        using ModuleWeights weights = ModuleWeights.Open(folder, device ?? CPU, new HashSet<string> { "norm.weight", "norm.bias" });
        return new LayerNormLayer(name, dimension, weights);
    }

    public int OutputDimension(int inputDimension) =>
        inputDimension == Dimension ? Dimension
            : throw new EncoderKitException(ErrorKind.BadConfig, $"normalises {Dimension} features but the module before it gives {inputDimension}", field: Name);

    public Tensor Forward(Tensor embeddings) => forward(embeddings);

    public void Save(string folder) => ModuleWeights.Save(folder, this, new JsonObject { ["dimension"] = Dimension });

    public override Tensor forward(Tensor embeddings) => norm.forward(embeddings);
}
