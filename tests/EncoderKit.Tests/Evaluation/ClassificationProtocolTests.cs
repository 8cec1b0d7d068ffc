using EncoderKit.Evaluation;

namespace EncoderKit.Tests.Evaluation;

/// <summary>
/// MTEB's classification protocol: NumPy's legacy generator (against values NumPy prints), the logistic regression
/// (against the optimality conditions of sklearn's objective, derived here independently, and a one-dimensional case
/// solved by bisection), and the resampling loop.
/// </summary>
public sealed class ClassificationProtocolTests
{
    [Fact]
    public void NumpyLegacyGeneratorReproducesNumpysOutputs()
    {
        // np.random.seed(0); np.random.random_sample() → 0.5488135039273248
        Assert.Equal(0.5488135039273248, new NumpyLegacyRandom(0).NextDouble());
        // np.random.seed(42); np.random.permutation(10) → [8 1 5 0 7 2 9 4 3 6]
        int[] values = Enumerable.Range(0, 10).ToArray();
        new NumpyLegacyRandom(42).Shuffle(values.AsSpan());
        Assert.Equal([8, 1, 5, 0, 7, 2, 9, 4, 3, 6], values);
    }

    [Fact]
    public void BinaryFitSolvesTheOneDimensionalOptimumFoundByBisection()
    {
        // x = −1 (class 0) and +1 (class 1), C = 1: by symmetry b = 0 and w minimises
        // ½·[2·log(1 + e^−w)] + w²/(2·C·n) with n = 2, i.e. solves −1/(1 + e^w) + w/2 = 0.
        double lo = 0, hi = 10;
        for (int i = 0; i < 200; i++)
        {
            double mid = (lo + hi) / 2;
            if (-1 / (1 + Math.Exp(mid)) + mid / 2 < 0) lo = mid; else hi = mid;
        }
        var model = LogisticRegression.Fit([[-1f], [1f]], [0, 1]);
        Assert.Equal(lo, model.Coefficients[0][0], 1e-4);   // sklearn's own stopping rule (gradient ≤ 1e-4) bounds the agreement
        Assert.Equal(0, model.Intercepts[0], 1e-4);
        Assert.Equal([0, 1, 1], model.Predict([[-3f], [0.5f], [2f]]));
    }

    [Fact]
    public void MultinomialFitMeetsTheOptimalityConditionsOfSklearnsObjective()
    {
        var random = new Random(3);
        var x = new List<float[]>();
        var y = new List<int>();
        for (int i = 0; i < 60; i++)
        {
            int label = i % 3;
            x.Add([(float)(random.NextDouble() + label), (float)random.NextDouble(), (float)(random.NextDouble() * label)]);
            y.Add(label * 10);   // class ids need not be 0..k−1
        }
        var model = LogisticRegression.Fit(x, y);
        Assert.Equal([0, 10, 20], model.Classes);
        // Gradient of mean cross-entropy + ‖W‖²/(2·C·n), computed here from the softmax directly.
        double[][] w = model.Coefficients;
        double[] b = model.Intercepts;
        int n = x.Count;
        double worst = 0;
        var gradW = new double[3, 3];
        var gradB = new double[3];
        for (int i = 0; i < n; i++)
        {
            double[] z = Enumerable.Range(0, 3).Select(k => b[k] + Enumerable.Range(0, 3).Sum(j => w[k][j] * x[i][j])).ToArray();
            double max = z.Max();
            double[] p = z.Select(v => Math.Exp(v - max)).ToArray();
            double sum = p.Sum();
            for (int k = 0; k < 3; k++)
            {
                double d = (p[k] / sum - (y[i] == k * 10 ? 1 : 0)) / n;
                gradB[k] += d;
                for (int j = 0; j < 3; j++) gradW[k, j] += d * x[i][j];
            }
        }
        for (int k = 0; k < 3; k++)
        {
            worst = Math.Max(worst, Math.Abs(gradB[k]));
            for (int j = 0; j < 3; j++) worst = Math.Max(worst, Math.Abs(gradW[k, j] + w[k][j] / n));
        }
        Assert.True(worst <= 1e-4, $"largest gradient component {worst}");
        Assert.True(model.Iterations <= 100);
    }

    [Fact]
    public void OneClassOfTrainingDataIsRefusedAsSklearnRefusesIt()
    {
        var error = Assert.Throws<EncoderKitException>(() => LogisticRegression.Fit([[1f], [2f]], [4, 4]));
        Assert.Contains("two classes", error.Message);
    }

    [Fact]
    public void ProtocolOnSeparableEmbeddingsScoresPerfectlyAndSamplesPerLabel()
    {
        // Class 0 near (1, 0), class 1 near (0, 1); the test set is separable too.
        var random = new Random(5);
        float[] Near(int label) => label == 0 ? [1 + (float)random.NextDouble() * 0.1f, 0] : [0, 1 + (float)random.NextDouble() * 0.1f];
        int[] trainY = Enumerable.Range(0, 40).Select(i => i % 2).ToArray();
        int[] testY = Enumerable.Range(0, 10).Select(i => i % 2).ToArray();
        var scores = new EmbeddingClassification { SamplesPerLabel = 2, Experiments = 3 }
            .Evaluate(trainY.Select(Near).ToArray(), trainY, testY.Select(Near).ToArray(), testY);
        Assert.Equal(1, scores["accuracy"], 1e-12);
        Assert.Equal(1, scores["f1"], 1e-12);
        Assert.Equal(1, scores["f1_weighted"], 1e-12);
        Assert.Equal(1, scores["ap"], 1e-12);
    }

    [Fact]
    public void WeightedF1WeighsEachClassByItsTrueSupport()
    {
        // Class 0: support 3, F1 = 2·2/(4+0+1) = 0.8; class 1: support 1, F1 = 2·1/(2+1+0) = 2/3.
        Assert.Equal((3 * 0.8 + 1 * 2.0 / 3) / 4, EmbeddingClassification.WeightedF1([0, 0, 0, 1], [0, 0, 1, 1]), 1e-12);
    }
}
