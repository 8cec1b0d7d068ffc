namespace EncoderKit.Evaluation;

/// <summary>
/// L2-regularised logistic regression as scikit-learn's LogisticRegression() fits it by default (C = 1, lbfgs,
/// max_iter = 100, tol = 1e-4, intercept not penalised): two classes share one weight vector through the sigmoid,
/// more than two get one vector each through the softmax (multinomial). The objective is sklearn's: mean log-loss
/// plus ‖W‖² / (2·C·n). Deterministic: same data, same model.
/// </summary>
/// <remarks>
/// Solver differences from sklearn's (scipy's L-BFGS-B): the line search here is a bisecting weak-Wolfe search
/// (c1 = 1e-3, c2 = 0.9, as dcsrch's defaults) rather than Moré–Thuente, and computation is in double precision on
/// float32 embeddings. Both stop at the same criteria (gradient max-norm ≤ tol, relative decrease ≤ 64·ε, or
/// max_iter iterations); the objective is strictly convex, so both head for the same unique optimum and agree to the
/// accuracy the stopping rule leaves, and predictions differ only where a test point sits that close to a boundary.
/// </remarks>
public sealed class LogisticRegression
{
    readonly double[] _weights;   // [outputs, features + 1]: each output's coefficients, then its intercept
    readonly int _features;

    LogisticRegression(int[] classes, double[] weights, int features, int iterations)
    {
        Classes = classes;
        _weights = weights;
        _features = features;
        Iterations = iterations;
    }

    /// <summary>The class ids seen in training, ascending (sklearn's classes_).</summary>
    public IReadOnlyList<int> Classes { get; }

    /// <summary>sklearn's coef_: one row of feature weights per output (a single row for two classes, for class 1).</summary>
    public double[][] Coefficients => Enumerable.Range(0, _weights.Length / (_features + 1))
        .Select(k => _weights.AsSpan(k * (_features + 1), _features).ToArray()).ToArray();

    /// <summary>sklearn's intercept_: one per output.</summary>
    public double[] Intercepts => Enumerable.Range(0, _weights.Length / (_features + 1)).Select(k => _weights[k * (_features + 1) + _features]).ToArray();

    /// <summary>L-BFGS iterations the fit took.</summary>
    public int Iterations { get; }

    /// <exception cref="EncoderKitException">The labels hold fewer than two classes (sklearn refuses those too).</exception>
    public static LogisticRegression Fit(IReadOnlyList<float[]> x, IReadOnlyList<int> y, double c = 1.0, int maxIterations = 100, double tolerance = 1e-4)
    {
        if (x.Count != y.Count) throw new ArgumentException($"{x.Count} rows against {y.Count} labels");
        int[] classes = y.Distinct().Order().ToArray();
        if (classes.Length < 2)
            throw new EncoderKitException(ErrorKind.BadInput, $"logistic regression needs at least two classes in the training data, got only {(classes.Length == 0 ? "none" : $"class {classes[0]}")}");
        int features = x[0].Length;
        int outputs = classes.Length == 2 ? 1 : classes.Length;
        int[] target = y.Select(label => Array.BinarySearch(classes, label)).ToArray();
        var problem = new Objective(x, target, outputs, features, 1.0 / (c * x.Count));
        var weights = new double[outputs * (features + 1)];
        int iterations = Lbfgs.Minimize(problem.ValueAndGradient, weights, maxIterations, tolerance);
        return new LogisticRegression(classes, weights, features, iterations);
    }

    /// <summary>The predicted class of each row: the sigmoid's side for two classes, the largest logit (first on ties) otherwise.</summary>
    public int[] Predict(IReadOnlyList<float[]> x)
    {
        var predicted = new int[x.Count];
        int outputs = Classes.Count == 2 ? 1 : Classes.Count;
        var logits = new double[outputs];
        for (int i = 0; i < x.Count; i++)
        {
            if (x[i].Length != _features) throw new ArgumentException($"row {i} has {x[i].Length} features, the model {_features}");
            for (int k = 0; k < outputs; k++) logits[k] = Logit(_weights, k, x[i], _features);
            if (outputs == 1) predicted[i] = Classes[logits[0] > 0 ? 1 : 0];
            else
            {
                int best = 0;
                for (int k = 1; k < outputs; k++) if (logits[k] > logits[best]) best = k;
                predicted[i] = Classes[best];
            }
        }
        return predicted;
    }

    static double Logit(double[] w, int output, float[] row, int features)
    {
        int offset = output * (features + 1);
        double z = w[offset + features];
        for (int j = 0; j < features; j++) z += w[offset + j] * row[j];
        return z;
    }

    /// <summary>Mean log-loss + ½·λ‖W‖² (intercepts unpenalised) and its gradient.</summary>
    sealed class Objective(IReadOnlyList<float[]> x, int[] target, int outputs, int features, double lambda)
    {
        public double ValueAndGradient(double[] w, double[] gradient)
        {
            Array.Clear(gradient);
            int n = x.Count, stride = features + 1;
            double loss = 0;
            var z = new double[outputs];
            for (int i = 0; i < n; i++)
            {
                float[] row = x[i];
                for (int k = 0; k < outputs; k++) z[k] = Logit(w, k, row, features);
                if (outputs == 1)
                {
                    // log(1 + e^z) − y·z, computed without overflow; d/dz = σ(z) − y.
                    double y = target[i];
                    loss += Math.Max(z[0], 0) + Math.Log(1 + Math.Exp(-Math.Abs(z[0]))) - y * z[0];
                    z[0] = 1 / (1 + Math.Exp(-z[0])) - y;
                }
                else
                {
                    double max = z.Max(), sum = 0;
                    for (int k = 0; k < outputs; k++) sum += Math.Exp(z[k] - max);
                    loss += max + Math.Log(sum) - z[target[i]];
                    for (int k = 0; k < outputs; k++) z[k] = Math.Exp(z[k] - max) / sum - (k == target[i] ? 1 : 0);
                }
                for (int k = 0; k < outputs; k++)
                {
                    double d = z[k] / n;
                    int offset = k * stride;
                    for (int j = 0; j < features; j++) gradient[offset + j] += d * row[j];
                    gradient[offset + features] += d;
                }
            }
            loss /= n;
            for (int k = 0; k < outputs; k++)
                for (int j = 0; j < features; j++)
                {
                    double v = w[k * stride + j];
                    loss += 0.5 * lambda * v * v;
                    gradient[k * stride + j] += lambda * v;
                }
            return loss;
        }
    }
}

/// <summary>Limited-memory BFGS (10 corrections, as scipy's default) for smooth unconstrained minimisation.</summary>
static class Lbfgs
{
    const int Memory = 10;

    /// <summary>Minimises in place from <paramref name="x"/>; returns the iterations taken.</summary>
    public static int Minimize(Func<double[], double[], double> valueAndGradient, double[] x, int maxIterations, double gradientTolerance)
    {
        int n = x.Length;
        var g = new double[n];
        double f = valueAndGradient(x, g);
        var s = new List<double[]>();
        var yList = new List<double[]>();
        var rho = new List<double>();
        var direction = new double[n];
        var xNew = new double[n];
        var gNew = new double[n];
        double ftol = 64 * 2.220446049250313e-16;   // sklearn passes ftol = 64 · machine epsilon
        int iteration = 0;
        while (iteration < maxIterations && MaxAbs(g) > gradientTolerance)
        {
            // Two-loop recursion: direction = −H·g.
            Array.Copy(g, direction, n);
            var alpha = new double[s.Count];
            for (int i = s.Count - 1; i >= 0; i--)
            {
                alpha[i] = rho[i] * Dot(s[i], direction);
                Axpy(-alpha[i], yList[i], direction);
            }
            double scale = s.Count > 0 ? Dot(s[^1], yList[^1]) / Dot(yList[^1], yList[^1]) : 1;
            for (int i = 0; i < n; i++) direction[i] *= scale;
            for (int i = 0; i < s.Count; i++)
            {
                double beta = rho[i] * Dot(yList[i], direction);
                Axpy(alpha[i] - beta, s[i], direction);
            }
            for (int i = 0; i < n; i++) direction[i] = -direction[i];
            double slope = Dot(g, direction);
            if (slope >= 0)
            {
                // Not a descent direction (curvature lost to rounding): restart from steepest descent.
                s.Clear(); yList.Clear(); rho.Clear();
                for (int i = 0; i < n; i++) direction[i] = -g[i];
                slope = Dot(g, direction);
            }
            double step = s.Count == 0 ? Math.Min(1.0, 1.0 / Math.Sqrt(Dot(direction, direction))) : 1.0;
            double fNew = double.NaN;
            double low = 0, high = double.PositiveInfinity;
            bool accepted = false;
            for (int trial = 0; trial < 50; trial++)
            {
                for (int i = 0; i < n; i++) xNew[i] = x[i] + step * direction[i];
                fNew = valueAndGradient(xNew, gNew);
                if (!(fNew <= f + 1e-3 * step * slope)) high = step;
                else if (Dot(gNew, direction) < 0.9 * slope) low = step;
                else { accepted = true; break; }
                step = double.IsPositiveInfinity(high) ? 2 * step : (low + high) / 2;
            }
            if (!accepted && !(fNew < f)) break;   // no progress possible at this precision
            iteration++;
            var sk = new double[n];
            var yk = new double[n];
            for (int i = 0; i < n; i++) { sk[i] = xNew[i] - x[i]; yk[i] = gNew[i] - g[i]; }
            double sy = Dot(sk, yk);
            if (sy > 1e-10 * Dot(yk, yk))
            {
                if (s.Count == Memory) { s.RemoveAt(0); yList.RemoveAt(0); rho.RemoveAt(0); }
                s.Add(sk); yList.Add(yk); rho.Add(1 / sy);
            }
            double decrease = (f - fNew) / Math.Max(Math.Max(Math.Abs(f), Math.Abs(fNew)), 1);
            Array.Copy(xNew, x, n);
            Array.Copy(gNew, g, n);
            f = fNew;
            if (decrease <= ftol) break;
        }
        return iteration;
    }

    static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    static double MaxAbs(double[] a)
    {
        double max = 0;
        foreach (double v in a) max = Math.Max(max, Math.Abs(v));
        return max;
    }

    static void Axpy(double a, double[] x, double[] y)
    {
        for (int i = 0; i < x.Length; i++) y[i] += a * x[i];
    }
}
