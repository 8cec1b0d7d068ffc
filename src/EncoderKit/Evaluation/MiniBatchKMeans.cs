namespace EncoderKit.Evaluation;

/// <summary>
/// Mini-batch k-means as sklearn's MiniBatchKMeans runs it with MTEB's settings (batch_size 500, k-means++ on an
/// init sample of 3·batch_size points, one init, max_iter 100, early stop after 10 mini-batches without improvement of
/// the smoothed inertia), then every point assigned to its nearest centre.
/// </summary>
/// <remarks>
/// Deterministic for a seed, but not NumPy's stream: sklearn's draws (MTEB v1 passes no random_state at all, so its own
/// clusterings differ run to run) cannot be reproduced, so V-measure agrees with MTEB's to within that run-to-run
/// spread, not digit for digit. Not implemented: sklearn's reassignment of nearly empty centres (reassignment_ratio 0.01).
/// </remarks>
public sealed class MiniBatchKMeans
{
    public int BatchSize { get; init; } = 500;
    public int MaxIterations { get; init; } = 100;
    public int MaxNoImprovement { get; init; } = 10;
    public int Seed { get; init; } = 42;

    /// <summary>The cluster of each row, 0..clusters−1.</summary>
    public int[] FitPredict(IReadOnlyList<float[]> x, int clusters)
    {
        int n = x.Count;
        if (clusters < 1 || clusters > n) throw new EncoderKitException(ErrorKind.BadInput, $"cannot make {clusters} clusters of {n} texts");
        int d = x[0].Length;
        var random = new Random(Seed);
        int initSize = 3 * BatchSize < clusters ? 3 * clusters : 3 * BatchSize;
        int[] order = Enumerable.Range(0, n).ToArray();
        random.Shuffle(order);
        int[] initSample = order[..Math.Min(initSize, n)];
        double[][] centers = KMeansPlusPlus(x, initSample, clusters, random);
        var weights = new double[clusters];
        int batch = Math.Min(BatchSize, n);
        long steps = (long)MaxIterations * n / batch;
        double? smoothed = null, best = null;
        int noImprovement = 0;
        double alpha = Math.Min(1.0, batch * 2.0 / (n + 1));
        var sums = new double[clusters][];
        for (int k = 0; k < clusters; k++) sums[k] = new double[d];
        var counts = new int[clusters];
        for (long step = 0; step < steps; step++)
        {
            foreach (double[] s in sums) Array.Clear(s);
            Array.Clear(counts);
            double inertia = 0;
            for (int b = 0; b < batch; b++)
            {
                float[] row = x[random.Next(n)];
                (int nearest, double distance) = Nearest(centers, row);
                inertia += distance;
                counts[nearest]++;
                for (int j = 0; j < d; j++) sums[nearest][j] += row[j];
            }
            for (int k = 0; k < clusters; k++)
            {
                if (counts[k] == 0) continue;
                double total = weights[k] + counts[k];
                for (int j = 0; j < d; j++) centers[k][j] = (centers[k][j] * weights[k] + sums[k][j]) / total;
                weights[k] = total;
            }
            inertia /= batch;
            smoothed = smoothed is null ? inertia : smoothed * (1 - alpha) + inertia * alpha;
            if (best is null || smoothed < best) { best = smoothed; noImprovement = 0; }
            else if (++noImprovement >= MaxNoImprovement) break;
        }
        return x.Select(row => Nearest(centers, row).Index).ToArray();
    }

    /// <summary>Greedy k-means++ (2 + ⌊ln k⌋ candidates per centre, the one lowering the potential most kept), as sklearn.</summary>
    static double[][] KMeansPlusPlus(IReadOnlyList<float[]> x, int[] sample, int clusters, Random random)
    {
        int trials = 2 + (int)Math.Log(clusters);
        var centers = new double[clusters][];
        centers[0] = x[sample[random.Next(sample.Length)]].Select(v => (double)v).ToArray();
        double[] closest = sample.Select(i => SquaredDistance(centers[0], x[i])).ToArray();
        for (int c = 1; c < clusters; c++)
        {
            double potential = closest.Sum();
            int bestCandidate = -1;
            double bestPotential = double.PositiveInfinity;
            double[]? bestClosest = null;
            for (int t = 0; t < trials; t++)
            {
                double target = random.NextDouble() * potential, cumulative = 0;
                int pick = sample.Length - 1;
                for (int i = 0; i < sample.Length; i++)
                {
                    cumulative += closest[i];
                    if (cumulative > target) { pick = i; break; }
                }
                double[] candidate = x[sample[pick]].Select(v => (double)v).ToArray();
                double[] next = new double[sample.Length];
                for (int i = 0; i < sample.Length; i++) next[i] = Math.Min(closest[i], SquaredDistance(candidate, x[sample[i]]));
                double candidatePotential = next.Sum();
                if (candidatePotential < bestPotential) (bestPotential, bestCandidate, bestClosest) = (candidatePotential, pick, next);
            }
            centers[c] = x[sample[bestCandidate]].Select(v => (double)v).ToArray();
            closest = bestClosest!;
        }
        return centers;
    }

    static (int Index, double Distance) Nearest(double[][] centers, float[] row)
    {
        int best = 0;
        double bestDistance = double.PositiveInfinity;
        for (int k = 0; k < centers.Length; k++)
        {
            double distance = SquaredDistance(centers[k], row);
            if (distance < bestDistance) (best, bestDistance) = (k, distance);
        }
        return (best, bestDistance);
    }

    static double SquaredDistance(double[] center, float[] row)
    {
        double sum = 0;
        for (int j = 0; j < row.Length; j++)
        {
            double diff = center[j] - row[j];
            sum += diff * diff;
        }
        return sum;
    }
}
