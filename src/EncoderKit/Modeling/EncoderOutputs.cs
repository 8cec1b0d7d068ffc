using static TorchSharp.torch;

namespace EncoderKit.Modeling;

/// <summary>Which outputs a forward pass should compute beyond the last hidden state.</summary>
[Flags]
public enum Outputs
{
    LastHiddenState = 0,
    HiddenStates = 1,
    MlmLogits = 2,
    Pooler = 4,
    Nsp = 8,
    Classifier = 16,
    /// <summary>Every head the checkpoint has.</summary>
    AllHeads = MlmLogits | Pooler | Nsp | Classifier,
}

/// <summary>The tensors one forward pass produced; disposing it frees them.</summary>
public sealed class EncoderOutputs : IDisposable
{
    public required Tensor LastHiddenState { get; init; }              // [B, L, H]
    public IReadOnlyList<Tensor> HiddenStates { get; init; } = [];     // Layers + 1 of [B, L, H]: embeddings, then each layer's raw output
    public Tensor? MlmLogits { get; init; }                            // [B, L, V]
    public Tensor? PoolerOutput { get; init; }                         // [B, H]
    public Tensor? NspLogits { get; init; }                            // [B, 2]
    public Tensor? ClassifierLogits { get; init; }                     // [B, labels]

    /// <summary>Every output under the names the reference fixtures and <c>encoderkit forward</c> use.</summary>
    public IEnumerable<(string Name, Tensor Value)> Named()
    {
        yield return ("last_hidden_state", LastHiddenState);
        for (int i = 0; i < HiddenStates.Count; i++) yield return ($"hidden_states.{i}", HiddenStates[i]);
        if (MlmLogits is not null) yield return ("mlm_logits", MlmLogits);
        if (PoolerOutput is not null) yield return ("pooler_output", PoolerOutput);
        if (NspLogits is not null) yield return ("nsp_logits", NspLogits);
        if (ClassifierLogits is not null) yield return ("classifier_logits", ClassifierLogits);
    }

    public void Dispose()
    {
        foreach (var (_, tensor) in Named()) tensor.Dispose();
    }
}
