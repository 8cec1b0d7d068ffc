namespace EncoderKit.IO;

/// <summary>The weights of a model folder: safetensors (single or sharded), or, only when explicitly allowed, a PyTorch pickle file read without running any of its code.</summary>
public static class ModelWeights
{
    public const string PickleFileName = "pytorch_model.bin";

    public static ITensorSource Open(string folder, bool allowPickleWeights = false)
    {
        bool hasSafetensors = Path.Exists(Path.Combine(folder, CheckpointWeights.SingleFileName))
            || Path.Exists(Path.Combine(folder, CheckpointWeights.IndexFileName));
        string pickle = Path.Combine(folder, PickleFileName);
        if (!hasSafetensors && File.Exists(pickle))
        {
            if (!allowPickleWeights)
                throw new EncoderKitException(ErrorKind.MissingFile,
                    $"no safetensors weights, only {PickleFileName}; pickle weights load only when allowed (allowPickleWeights), and are then read without running code", folder);
            return PickleCheckpoint.Open(pickle);
        }
        return CheckpointWeights.Open(folder);
    }
}
