using EncoderKit.Contrastive;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Contrastive;

/// <summary>
/// The losses on embeddings the test chooses, against the same definitions written out in doubles here (cosine by dot
/// and norms, cross-entropy by log-sum-exp). Tolerance 1e-5: the library computes in float32, whose rounding on these
/// O(20) logits stays below 1e-5 of the O(1) losses.
/// </summary>
public sealed class ContrastiveLossTests
{
    const double Tolerance = 1e-5, Scale = 20;

    static readonly double[][] Anchors = [[1, 0, 0.5, 0], [0, 1, 0, 0.3], [0.2, 0.1, 1, 0]];
    static readonly double[][] Positives = [[0.9, 0.2, 0.4, 0.1], [0.1, 0.8, 0.2, 0.2], [0.1, 0.3, 0.7, 0.6]];
    static readonly double[][] Negatives = [[0.5, 0.5, 0, 0], [0.3, 0, 0.9, 0.1], [0, 1, 0.1, 0]];

    static double Cos(double[] a, double[] b, int width)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < width; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    // −log softmax of the right candidate, averaged over anchors.
    static double InfoNce(double[][] anchors, double[][] candidates, int width)
    {
        double total = 0;
        for (int i = 0; i < anchors.Length; i++)
        {
            double[] logits = [.. candidates.Select(c => Scale * Cos(anchors[i], c, width))];
            double max = logits.Max();
            total += max + Math.Log(logits.Sum(l => Math.Exp(l - max))) - logits[i];
        }
        return total / anchors.Length;
    }

    static Tensor Column(double[][] rows, ScalarType dtype = ScalarType.Float32) =>
        tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]).to_type(dtype);

    [Fact]
    public void MultipleNegativesRankingIsCrossEntropyOverScaledCosines()
    {
        using var scope = NewDisposeScope();
        double expected = InfoNce(Anchors, Positives, 4);
        Assert.Equal(expected, ContrastiveLoss.MultipleNegativesRanking([Column(Anchors), Column(Positives)]).item<float>(), Tolerance);
    }

    [Fact]
    public void HardNegativesJoinThePositivesAsCandidates()
    {
        using var scope = NewDisposeScope();
        double expected = InfoNce(Anchors, [.. Positives, .. Negatives], 4);
        Assert.Equal(expected, ContrastiveLoss.MultipleNegativesRanking([Column(Anchors), Column(Positives), Column(Negatives)]).item<float>(), Tolerance);
        Assert.NotEqual(InfoNce(Anchors, Positives, 4), expected, 3);
    }

    [Fact]
    public void SymmetricAveragesAnchorToPositiveAndPositiveToAnchor()
    {
        using var scope = NewDisposeScope();
        double expected = (InfoNce(Anchors, Positives, 4) + InfoNce(Positives, Anchors, 4)) / 2;
        Assert.Equal(expected, ContrastiveLoss.MultipleNegativesRanking([Column(Anchors), Column(Positives)], symmetric: true).item<float>(), Tolerance);
    }

    [Fact]
    public void MatryoshkaSumsTheWeightedLossesOfEachWidth()
    {
        using var scope = NewDisposeScope();
        double expected = 1.0 * InfoNce(Anchors, Positives, 4) + 0.5 * InfoNce(Anchors, Positives, 2);
        Tensor loss = ContrastiveLoss.Matryoshka(columns => ContrastiveLoss.MultipleNegativesRanking(columns), [Column(Anchors), Column(Positives)], new MatryoshkaDimensions([4, 2], [1.0, 0.5]));
        Assert.Equal(expected, loss.item<float>(), Tolerance);
    }

    [Fact]
    public void CoSentPenalisesEveryPairScoredAgainstItsGoldOrder()
    {
        using var scope = NewDisposeScope();
        double[] gold = [0.9, 0.1, 0.5];
        double[] cosines = [.. Anchors.Select((a, i) => Cos(a, Positives[i], 4))];
        double sum = 1;   // the exp(0) term
        for (int hi = 0; hi < gold.Length; hi++)
            for (int lo = 0; lo < gold.Length; lo++)
                if (gold[hi] > gold[lo]) sum += Math.Exp(Scale * (cosines[lo] - cosines[hi]));
        Tensor loss = ContrastiveLoss.CoSent(Column(Anchors), Column(Positives), tensor(gold).to_type(ScalarType.Float32));
        Assert.Equal(Math.Log(sum), loss.item<float>(), Tolerance);
    }

    [Fact]
    public void BadMatryoshkaDimensionsAreRefusedByName()
    {
        Assert.Throws<EncoderKitException>(() => new MatryoshkaDimensions([]));
        Assert.Throws<EncoderKitException>(() => new MatryoshkaDimensions([64, 0]));
        Assert.Throws<EncoderKitException>(() => new MatryoshkaDimensions([64, 64]));
        Assert.Throws<EncoderKitException>(() => new MatryoshkaDimensions([64, 32], [1]));
        using var scope = NewDisposeScope();
        var error = Assert.Throws<EncoderKitException>(() => ContrastiveLoss.Matryoshka(c => ContrastiveLoss.MultipleNegativesRanking(c), [Column(Anchors), Column(Positives)], new MatryoshkaDimensions([8])));
        Assert.Contains("wider than the embeddings", error.Message, StringComparison.Ordinal);
    }
}
