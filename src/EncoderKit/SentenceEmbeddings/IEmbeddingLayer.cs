using static TorchSharp.torch;

namespace EncoderKit.SentenceEmbeddings;

/// <summary>
/// A sentence-transformers module after Pooling: sentence vectors in, sentence vectors out ([B, D] → [B, D']).
/// Layers live on the CPU or the model's device and compute in float32.
/// </summary>
public interface IEmbeddingLayer : IDisposable
{
    /// <summary>The module's name in modules.json ("2_Dense", "3_Normalize"…).</summary>
    string Name { get; }

    /// <summary>Width of what the layer returns, given its input width.</summary>
    int OutputDimension(int inputDimension);

    /// <param name="embeddings">[B, D] float32.</param>
    Tensor Forward(Tensor embeddings);

    /// <summary>Writes the module's folder as sentence-transformers saves it (config.json and model.safetensors, where it has them).</summary>
    void Save(string folder);
}

/// <summary>sentence_transformers.models.Normalize: L2 normalisation, nothing to load.</summary>
public sealed class NormalizeLayer(string name = "Normalize") : IEmbeddingLayer
{
    public string Name { get; } = name;

    public int OutputDimension(int inputDimension) => inputDimension;

    public Tensor Forward(Tensor embeddings) => Pooling.Normalize(embeddings);

    /// <summary>An empty folder: sentence-transformers saves Normalize with nothing in it.</summary>
    public void Save(string folder) => Directory.CreateDirectory(folder);

    public void Dispose()
    {
    }
}
