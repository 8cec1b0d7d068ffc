namespace EncoderKit.Inference;

/// <summary>Probabilities from a handful of logits, in double precision as the pipelines' numpy post-processing computes them.</summary>
static class Probabilities
{
    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (float x in logits) max = Math.Max(max, x);
        var result = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += result[i] = Math.Exp(logits[i] - max);
        for (int i = 0; i < result.Length; i++) result[i] /= sum;
        return result;
    }
}
