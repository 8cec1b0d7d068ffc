using static TorchSharp.torch;

namespace EncoderKit.Training;

/// <summary>
/// Gradient accumulation: N micro-batches stand in for one batch N times larger. Each micro-batch's loss (a mean over
/// its rows) is scaled by 1/N before backward, so the summed gradients are those of the mean over the whole batch.
/// </summary>
public sealed class GradientAccumulation
{
    int pending;

    public GradientAccumulation(int microBatches)
    {
        if (microBatches < 1) throw new EncoderKitException(ErrorKind.BadInput, $"gradient accumulation {microBatches} is not ≥ 1", field: "gradient_accumulation");
        MicroBatches = microBatches;
    }

    public int MicroBatches { get; }

    /// <summary>Micro-batches accumulated since the last optimizer step.</summary>
    public int Pending => pending;

    /// <summary>
    /// Back-propagates one micro-batch's loss, scaled by 1/N, into the gradients; true when N have been accumulated and the
    /// optimizer should step (the count then starts over).
    /// </summary>
    public bool Backward(Tensor loss)
    {
        using (Tensor scaled = loss / MicroBatches) scaled.backward();
        if (++pending < MicroBatches) return false;
        pending = 0;
        return true;
    }
}
