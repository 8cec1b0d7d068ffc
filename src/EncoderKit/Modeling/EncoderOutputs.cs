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
    TokenLogits = 32,
    /// <summary>Extractive QA's start_logits and end_logits.</summary>
    SpanLogits = 64,
    ChoiceLogits = 128,
    /// <summary>Every head the checkpoint has.</summary>
    AllHeads = ~HiddenStates,
}

/// <summary>The tensors one forward pass produced; disposing it frees them.</summary>
public sealed class EncoderOutputs : IDisposable
{
    public required Tensor LastHiddenState { get; init; }              // [B, L, H]; [B, C, L, H] for multiple-choice inputs [B, C, L]
    public IReadOnlyList<Tensor> HiddenStates { get; init; } = [];     // Layers + 1 of [B, L, H] (or [B, C, L, H]): embeddings, then each layer's raw output

    /// <summary>Each requested head's output under its name ("mlm_logits", "pooler_output", …), in the spec's head order.</summary>
    public IReadOnlyList<(string Name, Tensor Value)> Heads { get; init; } = [];

    /// <summary>The named head output, or null when it was not asked for or the checkpoint has no such head.</summary>
    public Tensor? Head(string name) => Heads.FirstOrDefault(h => h.Name == name).Value;

    public Tensor? MlmLogits => Head("mlm_logits");                    // [B, L, V]
    public Tensor? PoolerOutput => Head("pooler_output");              // [B, H]
    public Tensor? NspLogits => Head("nsp_logits");                    // [B, 2]
    public Tensor? ClassifierLogits => Head("classifier_logits");      // [B, labels]
    public Tensor? TokenLogits => Head("token_logits");                // [B, L, labels]
    public Tensor? StartLogits => Head("start_logits");                // [B, L]
    public Tensor? EndLogits => Head("end_logits");                    // [B, L]
    public Tensor? ChoiceLogits => Head("choice_logits");              // [B, C] for [B, C, L] inputs

    /// <summary>Every output under the names the reference fixtures and <c>encoderkit forward</c> use.</summary>
    public IEnumerable<(string Name, Tensor Value)> Named()
    {
        yield return ("last_hidden_state", LastHiddenState);
        for (int i = 0; i < HiddenStates.Count; i++) yield return ($"hidden_states.{i}", HiddenStates[i]);
        foreach (var head in Heads) yield return head;
    }

    public void Dispose()
    {
        foreach (var (_, tensor) in Named()) tensor.Dispose();
    }
}
