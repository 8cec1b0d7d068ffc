using EncoderKit.Evaluation;

namespace EncoderKit.Tests.Evaluation;

/// <summary>
/// The basic scores against values worked out by hand or printed in the scikit-learn and scipy documentation for the
/// same inputs. Tolerance 1e-12: the sums are short and exact up to the last bits of a double.
/// </summary>
public sealed class MetricsTests
{
    const double Tolerance = 1e-12;

    [Fact]
    public void AccuracyAndMacroF1MatchScikitLearnsDocumentedExample()
    {
        // f1_score([0, 1, 2, 0, 1, 2], [0, 2, 1, 0, 0, 1], average='macro') == 0.26666… in scikit-learn's docs:
        // class 0 F1 = 0.8, classes 1 and 2 F1 = 0.
        int[] truth = [0, 1, 2, 0, 1, 2], predicted = [0, 2, 1, 0, 0, 1];
        Assert.Equal(2.0 / 6, ClassificationMetrics.Accuracy(truth, predicted), Tolerance);
        Assert.Equal(0.8 / 3, ClassificationMetrics.MacroF1(truth, predicted), Tolerance);
    }

    [Fact]
    public void BinaryF1ScoresClassOneAndIsZeroWhenNothingIsPositive()
    {
        // tp 2, fp 1, fn 1 → 2·2 / (4 + 1 + 1).
        Assert.Equal(4.0 / 6, ClassificationMetrics.F1([1, 1, 1, 0, 0], [1, 1, 0, 1, 0]), Tolerance);
        Assert.Equal(0, ClassificationMetrics.F1([0, 0, 0], [0, 0, 0]));
    }

    [Fact]
    public void MacroF1CountsAClassOnlyPredicted()
    {
        // Class 2 never occurs but is predicted once: its F1 is 0 and it still counts in the mean.
        // class 0: tp 1, fn 1 → 2/3; class 1: tp 1 → 1; class 2: fp 1 → 0.
        Assert.Equal((2.0 / 3 + 1 + 0) / 3, ClassificationMetrics.MacroF1([0, 0, 1], [0, 2, 1]), Tolerance);
    }

    [Fact]
    public void MatthewsCorrelationMatchesTheBinaryFormulaAndTheDocumentedExample()
    {
        // scikit-learn's docs: matthews_corrcoef([+1, +1, +1, -1], [+1, -1, +1, +1]) == -0.33…
        Assert.Equal(-1.0 / 3, ClassificationMetrics.MatthewsCorrelation([1, 1, 1, -1], [1, -1, 1, 1]), Tolerance);
        // (tp·tn − fp·fn) / √((tp+fp)(tp+fn)(tn+fp)(tn+fn)) with tp 3, tn 2, fp 1, fn 2.
        int[] truth = [1, 1, 1, 1, 1, 0, 0, 0], predicted = [1, 1, 1, 0, 0, 0, 0, 1];
        double expected = (3.0 * 2 - 1 * 2) / Math.Sqrt(4.0 * 5 * 3 * 4);
        Assert.Equal(expected, ClassificationMetrics.MatthewsCorrelation(truth, predicted), Tolerance);
    }

    [Fact]
    public void MatthewsCorrelationIsZeroWhenOneClassIsNeverPredicted()
    {
        // CoLA's degenerate case: a model that answers "acceptable" for everything scores 0, not NaN.
        Assert.Equal(0, ClassificationMetrics.MatthewsCorrelation([1, 0, 1, 0], [1, 1, 1, 1]));
    }

    [Fact]
    public void MultiClassMatthewsCorrelationMatchesTheCountsFormula()
    {
        // truth counts t = (2, 2, 2), predicted p = (3, 2, 1), correct c = 4, s = 6:
        // (4·6 − (2·3 + 2·2 + 2·1)) / √((36 − 14)(36 − 12)).
        int[] truth = [0, 0, 1, 1, 2, 2], predicted = [0, 0, 1, 0, 2, 1];
        Assert.Equal((24.0 - 12) / Math.Sqrt(22.0 * 24), ClassificationMetrics.MatthewsCorrelation(truth, predicted), Tolerance);
    }

    [Fact]
    public void PearsonMatchesScipysDocumentedExample()
    {
        // scipy.stats.pearsonr([1, 2, 3, 4, 5], [10, 9, 2.5, 6, 4]).statistic == -0.7426106572325056
        Assert.Equal(-0.7426106572325056, Correlation.Pearson([1, 2, 3, 4, 5], [10, 9, 2.5, 6, 4]), 1e-15);
        Assert.True(double.IsNaN(Correlation.Pearson([1, 1, 1], [1, 2, 3])));
    }

    [Fact]
    public void SpearmanAveragesTiedRanksAsScipyDoes()
    {
        // scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]).statistic == 0.8207826816681233 (the two 7s share rank 3.5).
        Assert.Equal(0.8207826816681233, Correlation.Spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 1e-15);
        Assert.Equal([1.5, 1.5, 4, 3], Correlation.AverageRanks([2, 2, 9, 5]));
        Assert.Equal(-1, Correlation.Spearman([1, 2, 3], [30, 20, 10]), Tolerance);
    }

    [Fact]
    public void MismatchedOrEmptyInputsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Accuracy([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Accuracy([], []));
        Assert.Throws<ArgumentException>(() => Correlation.Pearson([1], [1]));
    }
}
